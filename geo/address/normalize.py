"""Normalisation of Chinese addresses for matching, with a map back to the original string.

Parsing runs on the normalised text; every normalised character remembers the span of the
original string it came from, so that components found on the normalised text can be reported
as spans of the input line (the contract requires ``text[start:end] == component text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Normalized", "chinese_numeral_value", "normalize"]

#: Chinese digits and multipliers used in building, unit, floor and room numbers.
CHINESE_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000}

#: Characters that follow a number in an address (栋, 单元, 层 …): only numerals before
#: one of these are converted, so that names such as 八一路 or 十里亭 stay as they are.
NUMBER_FOLLOWERS = "栋幢座号单元门层楼室期区组弄排户段"

_PUNCTUATION = {
    "。": ".", "、": ",", "；": ";", "—": "-", "–": "-", "―": "-", "−": "-", "~": "-",
    "～": "-", "【": "[", "】": "]", "〔": "(", "〕": ")", "《": "<", "》": ">",
    "「": '"', "」": '"', "“": '"', "”": '"', "‘": "'", "’": "'", "\t": " ", "\u00a0": " ",
    "\u3000": " ", "\r": " ", "\n": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
}  # fmt: skip


def _char_table() -> dict[int, str]:
    table = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}  # full-width ASCII
    table.update({ord(k): v for k, v in _PUNCTUATION.items()})
    for code in range(ord("a"), ord("z") + 1):
        table[code] = chr(code).upper()
    for code in range(0xFF41, 0xFF5B):  # full-width lower case straight to upper case
        table[code] = chr(code - 0xFEE0).upper()
    return table


_TABLE = _char_table()
_NEEDS_TABLE = re.compile("[" + re.escape("".join(chr(c) for c in _TABLE)) + "]")
_NUMERAL = re.compile(
    rf"[零〇一二两三四五六七八九十百千]+(?=[{NUMBER_FOLLOWERS}])(?!门[县峡湾市镇])"  # not 三门县
)
_BUILDING = re.compile(r"(?<=[0-9A-Z])(?:号楼|#楼|幢|座|#)")
_DOOR_AS_UNIT = re.compile(r"(?:(?<=栋[0-9])|(?<=栋[0-9]{2}))门|(?<=[0-9])门(?=[0-9])")
_SPACES = re.compile(r" {2,}")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised address with, per normalised character, its span in the original.

    Attributes
    ----------
    original
        The input string.
    text
        The normalised string.
    starts, ends
        ``original[starts[k]:ends[k]]`` is where ``text[k]`` came from.
    """

    original: str
    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span ``[start, end)`` of `text` to a span of `original`.

        Parameters
        ----------
        start, end
            Offsets into the normalised text, ``start < end``.

        Returns
        -------
        tuple of int
            ``(i, j)`` such that ``original[i:j]`` is what ``text[start:end]`` came from.
        """
        return self.starts[start], self.ends[end - 1]


def chinese_numeral_value(numeral: str) -> int:
    """The value of a Chinese numeral: 二十三 → 23, 十二 → 12, 一零四 → 104, 两百 → 200.

    Parameters
    ----------
    numeral
        Characters from 零〇一二两三四五六七八九十百千.

    Returns
    -------
    int
    """
    if not any(ch in CHINESE_UNITS for ch in numeral):
        value = 0
        for ch in numeral:
            value = value * 10 + CHINESE_DIGITS[ch]
        return value
    total, digit = 0, None
    for ch in numeral:
        if ch in CHINESE_UNITS:
            total += (1 if digit is None else digit) * CHINESE_UNITS[ch]
            digit = None
        else:
            digit = CHINESE_DIGITS[ch]
    return total + (digit or 0)


@lru_cache(maxsize=1)
def _converter():
    """OpenCC's t2s converter and a pattern of the characters it changes (CJK blocks)."""
    import opencc

    converter = opencc.OpenCC("t2s")
    chars = "".join(chr(c) for c in range(0x3400, 0xA000))
    converted = converter.convert(chars)
    if len(converted) != len(chars):  # pragma: no cover - t2s maps characters one to one
        return converter, re.compile(r"[^\x00-\x7f]")
    changed = sorted({a for a, b in zip(chars, converted, strict=True) if a != b})
    return converter, re.compile("[" + "".join(changed) + "]")


def _simplify(text: str) -> str:
    """Traditional → simplified, character for character (so offsets do not move)."""
    converter, traditional = _converter()
    if not traditional.search(text):
        return text
    converted = converter.convert(text)
    if len(converted) == len(text):
        return converted
    chars = []
    for ch in text:
        one = converter.convert(ch)
        chars.append(one if len(one) == 1 else ch)
    return "".join(chars)


def _substitute(
    text: str, starts: list[int], ends: list[int], pattern: re.Pattern[str], replace
) -> tuple[str, list[int], list[int]]:
    """Apply ``pattern.sub(replace, text)`` while carrying the offset map along."""
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        a, b = match.span()
        pieces.append(text[last:a])
        new_starts.extend(starts[last:a])
        new_ends.extend(ends[last:a])
        new = replace(match)
        pieces.append(new)
        if len(new) == b - a:
            new_starts.extend(starts[a:b])
            new_ends.extend(ends[a:b])
        else:
            new_starts.extend([starts[a]] * len(new))
            new_ends.extend([ends[b - 1]] * len(new))
        last = b
    pieces.append(text[last:])
    new_starts.extend(starts[last:])
    new_ends.extend(ends[last:])
    return "".join(pieces), new_starts, new_ends


def normalize(text: str) -> Normalized:
    """Normalise an address for matching, keeping a map back to the original string.

    Traditional characters become simplified (OpenCC ``t2s``), full-width ASCII becomes
    half-width and Latin letters upper case, dashes, brackets and white space are unified,
    runs of spaces collapse to one, Chinese numerals before 栋/单元/层/楼/室/号… become
    Arabic digits (二十三层 → 23层), and 号楼/幢/座/# after a number become 栋, 门 used as a
    unit (3栋2门, 2门301) becomes 单元.

    Parameters
    ----------
    text
        One address.

    Returns
    -------
    Normalized

    Examples
    --------
    >>> n = normalize("三棟二單元")
    >>> n.text
    '3栋2单元'
    >>> n.span(2, 5)
    (2, 5)
    """
    out = _simplify(text)
    if _NEEDS_TABLE.search(out):
        out = out.translate(_TABLE)
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    if "  " in out:
        out, starts, ends = _substitute(out, starts, ends, _SPACES, lambda m: " ")
    if _NUMERAL.search(out):
        out, starts, ends = _substitute(
            out, starts, ends, _NUMERAL, lambda m: str(chinese_numeral_value(m.group()))
        )
    if _BUILDING.search(out):
        out, starts, ends = _substitute(out, starts, ends, _BUILDING, lambda m: "栋")
    if "门" in out and _DOOR_AS_UNIT.search(out):
        out, starts, ends = _substitute(out, starts, ends, _DOOR_AS_UNIT, lambda m: "单元")
    return Normalized(text, out, starts, ends)
