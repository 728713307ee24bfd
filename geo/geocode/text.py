"""Address text for matching: cleaning, a rule splitter into hierarchy levels, name keys.

Everything here works on the normalised text of :func:`geo.address.normalize` (simplified,
half-width, Arabic numerals before 栋/单元/层/室, 号楼/幢/座 → 栋) with white space and
punctuation removed, so that the address base and the queries meet on the same form.
"""

from __future__ import annotations

import re
from functools import lru_cache

from geo.address import lexicon, normalize

__all__ = [
    "ADMIN_LEVELS",
    "FIELDS",
    "UNIT_LEVELS",
    "admin_short",
    "clean",
    "name_aliases",
    "pinyin_key",
    "split_address",
    "split_units",
]

ADMIN_LEVELS = ("prov", "city", "district", "town", "community")
UNIT_LEVELS = ("houseno", "cellno", "floorno", "roomno")
#: The hierarchy of an address, coarse to fine; a place is a tuple of these (None where absent).
FIELDS = (*ADMIN_LEVELS, "road", "roadno", "poi", *UNIT_LEVELS)

_HAN = r"\u4e00-\u9fff"
_BODY = rf"(?:(?![路街巷弄号栋单室])[{_HAN}])"
_ADMIN = {
    "prov": re.compile(rf"{_BODY}{{2,7}}?(?:省|自治区|特别行政区)"),
    "city": re.compile(rf"{_BODY}{{2,7}}?(?:市|自治州|地区|盟)"),
    "district": re.compile(rf"{_BODY}{{1,7}}?(?:新区|区|县|旗|市)"),
    "town": re.compile(rf"{_BODY}{{2,7}}?(?:街道|镇|乡)"),
    "community": re.compile(rf"{_BODY}{{2,7}}?(?:社区|村)"),
}
_NOT_DISTRICT = ("小区", "社区", "园区", "街区", "景区", "校区", "厂区", "片区")
_ROAD = re.compile(
    rf"(?:(?![号栋室])[{_HAN}0-9A-Z]){{1,10}}?(?:大道|大街|胡同|路|街|巷|弄|道)"
    r"(?![道])(?:[东西南北中]段|[0-9]+段)?"
)
_ROADNO = re.compile(r"([0-9]+(?:-[0-9]+)?)号")
_UNITS = (
    ("houseno", re.compile(r"((?<![0-9])[0-9]+[A-Z]?|[A-Z])栋")),
    ("cellno", re.compile(r"(?<![0-9])([0-9]+)单元")),
    ("floorno", re.compile(r"(-?(?<![0-9])[0-9]+)(?:层|楼)")),
    ("roomno", re.compile(r"(?<![0-9])([0-9]+)(?:室|房|号)?$")),
)
# (?<![0-9]): a number starts where a run of digits starts, so searching a long run of digits
# tries one start instead of rescanning the run from every position in it (quadratic)
_UNIT_START = re.compile(
    r"(?:(?<![0-9])[0-9]+[A-Z]?|[A-Z])栋|(?<![0-9])[0-9]+(?:单元|(?:-[0-9]+){1,3}$)"
)
_BARE = re.compile(r"([0-9]+)-([0-9]+)(?:-([0-9]+))?(?:-([0-9]+))?$")
_DROP = re.compile(r"\([^()]*\)|[\s,.;:!?\"'<>\[\]{}|/\\_*=&@#~`^]+")
_ASSIST = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, lexicon.ASSIST_WORDS), key=len, reverse=True)) + ")"
)
_UNIT_CHARS = "栋元室号层楼"
_TRAILING = re.compile(_ASSIST.pattern + r"(?:的[\u4e00-\u9fff]{0,6})?\s*$")
_LEADING = re.compile(r"^(?:中华人民共和国|中国|地址|详细地址)+")

#: Endings of compound (小区) names, longest first; the stem before one is the name people use.
POI_ENDINGS = tuple(
    sorted(
        {
            *lexicon.POI_SUFFIXES,
            "名苑",
            "华府",
            "国际",
            "别墅",
            "大院",
            "老街",
            "花苑",
            "雅苑",
            "新苑",
            "名都",
            "公寓",
            "里",
        },  # fmt: skip
        key=len,
        reverse=True,
    )
)
#: Endings swapped to make aliases of a compound name (荷塘花园 → 荷塘小区, 荷塘苑).
ALIAS_ENDINGS = ("小区", "花园", "苑", "家园", "新村")


def clean(text: str) -> str:
    """Normalise an address and drop spaces, punctuation, remarks and trailing descriptions.

    Relative-position words (旁边, 对面, 附近, 门口, 楼下 …) are cut off with whatever follows
    them when they end the address, follow a number (3栋旁边) or come before 的.

    Parameters
    ----------
    text
        One address as written.

    Returns
    -------
    str

    Examples
    --------
    >>> clean("荷塘花園 三棟 旁边")
    '荷塘花园3栋'
    """
    text = text.strip()
    while (end := _TRAILING.search(text)) and end.start() >= 2:
        text = text[: end.start()].rstrip()
    s = normalize(text).text
    s = re.sub(r"(?<=[0-9]) +(?=[0-9])", "-", s)
    s = _DROP.sub("", s)
    s = _LEADING.sub("", s)
    for match in _ASSIST.finditer(s):
        a, b = match.span()
        if a >= 2 and (b == len(s) or s[a - 1] in _UNIT_CHARS or s[b : b + 1] == "的"):
            return s[:a]
    return s


def split_units(s: str) -> tuple[str, dict[str, str]]:
    """Split the building, unit, floor and room numbers off the end of a cleaned address.

    Returns
    -------
    head : str
        The text before the first unit number.
    units : dict
        ``houseno``, ``cellno``, ``floorno``, ``roomno`` → number string, where present.
    """
    match = _UNIT_START.search(s)
    if not match:
        return s, {}
    head, tail = s[: match.start()], s[match.start() :]
    units: dict[str, str] = {}
    bare = _BARE.match(tail)
    if bare:
        numbers = [g for g in bare.groups() if g]
        slots = ("houseno", "roomno") if len(numbers) == 2 else ("houseno", "cellno", "roomno")
        if len(numbers) == 4:
            slots = ("houseno", "cellno", "floorno", "roomno")
        return head, {k: v.lstrip("0") or "0" for k, v in zip(slots, numbers, strict=False)}
    pos = 0
    for label, pattern in _UNITS:
        found = pattern.search(tail, pos)
        if found:
            units[label] = found.group(1).lstrip("0") or "0"
            pos = found.end()
    return head, units


def split_address(s: str) -> dict[str, str]:
    """Split a cleaned address into hierarchy levels by rules (suffixes and number patterns).

    The address base is split this way; queries use it only on the pieces that match no known
    name.

    Parameters
    ----------
    s
        A cleaned address (:func:`clean`).

    Returns
    -------
    dict
        Level (see :data:`FIELDS`) → text, for the levels found.

    Examples
    --------
    >>> split_address("江苏省示范市滨江区柳荫路79号荷塘花园3栋")["poi"]
    '荷塘花园'
    """
    head, out = split_units(s)
    pos = 0
    for level, pattern in _ADMIN.items():
        match = pattern.match(head, pos)
        if not match:
            continue
        name = match.group()
        if level == "district" and name.endswith(_NOT_DISTRICT):
            continue
        if level == "district" and name.endswith("新区") and len(name) <= 3:
            continue
        if level == "community" and name.endswith("新村"):
            continue
        out[level] = name
        pos = match.end()
    match = _ROAD.match(head, pos)
    if match and not match.group().endswith(("街道", "新村")):
        out["road"] = match.group()
        pos = match.end()
        number = _ROADNO.match(head, pos)
        if number:
            out["roadno"] = number.group(1)
            pos = number.end()
    rest = head[pos:]
    if rest:
        number = re.search(r"(?<![0-9])([0-9]+)号$", rest)
        if number and number.start() > 0 and "houseno" not in out:
            out["houseno"] = number.group(1)
            rest = rest[: number.start()]
        elif number and number.start() == 0 and "roadno" not in out:
            out["roadno"] = number.group(1)
            rest = ""
        if rest:
            out["poi"] = rest
    return out


def admin_short(name: str) -> str | None:
    """The short form of a division name (江苏省 → 江苏, 滨江区 → 滨江), or None."""
    for suffix in ("特别行政区", "自治区", "自治州", "街道", "省", "市", "区", "县", "镇"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def poi_stem(name: str) -> str | None:
    """The compound name without its ending (荷塘花园 → 荷塘), or None if nothing is left."""
    for ending in POI_ENDINGS:
        if name.endswith(ending) and len(name) - len(ending) >= 2:
            return name[: -len(ending)]
    return None


def name_aliases(name: str) -> list[str]:
    """Other ways people write a compound name: the stem alone and the stem + 小区/花园/苑….

    Examples
    --------
    >>> name_aliases("荷塘花园")
    ['荷塘', '荷塘小区', '荷塘苑', '荷塘家园', '荷塘新村']
    """
    stem = poi_stem(name)
    if stem is None or re.search(r"[0-9]", name):
        return []
    out = [stem] + [stem + e for e in ALIAS_ENDINGS]
    return [a for a in dict.fromkeys(out) if a != name]


@lru_cache(maxsize=65536)
def pinyin_key(name: str) -> str:
    """Toneless pinyin of a name, syllables joined by spaces (homophones share a key)."""
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(name))
