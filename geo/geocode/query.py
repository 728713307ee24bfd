"""Read a query address against the index: known names first, rules and fuzzy look-ups after.

The cleaned text is scanned left to right for the longest name the base knows (divisions,
roads, compounds and their aliases, place names); numbers after a road are door numbers, the
building/unit/floor/room tail is split off by pattern. Stretches that match no known name are
split by suffix rules and looked up with tolerance: same pinyin (homophones), one character
replaced, one character missing or extra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo.geocode.index import AddressIndex
from geo.geocode.text import ADMIN_LEVELS, pinyin_key, split_address, split_units

__all__ = ["Query", "fuzzy_lookup", "read_query"]

#: Similarity of a homophone (same toneless pinyin).
HOMOPHONE_SIM = 0.9
_NUMBER = re.compile(r"([0-9]+(?:-[0-9]+)?)号?")
_NAMED = ("road", "poi")
_PHASE = re.compile(r"期|区|街区|组团")
_ADMIN_ENDS = ("省", "市", "区", "县", "街道", "镇", "乡", "社区", "村")


@dataclass(slots=True)
class Query:
    """What a query says, level by level.

    Attributes
    ----------
    named
        Admin level, ``road`` or ``poi`` → ``{key: similarity}`` of the base names it may
        mean; an empty dict when the query names something the base does not know.
    numbers
        ``roadno``, ``houseno``, ``cellno``, ``floorno``, ``roomno`` → number string.
    names
        Place names (the ``name`` column) found verbatim.
    texts
        The query's own text for each named level (for candidate suggestions).
    extra
        Number of pieces that were read but fit no level (they lower the score).
    """

    named: dict[str, dict[str, float]] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    extra: int = 0

    def get(self, level: str):
        """The query's value at `level` (dict of keys or number string) or None."""
        value = self.named.get(level)
        return value if value is not None else self.numbers.get(level)


def _canonical_first(keys: dict[str, float]) -> dict[str, float]:
    """A name written exactly as a base name means that place, not others' aliases."""
    if len(keys) > 1 and max(keys.values()) >= 1.0:
        return {k: v for k, v in keys.items() if v >= 1.0}
    return keys


def fuzzy_lookup(index: AddressIndex, kind: str, text: str) -> dict[str, float]:
    """Base names of `kind` that `text` may mean, with similarities in (0, 1].

    Exact names and aliases first; otherwise homophones (0.9), then one character replaced,
    dropped or added (1 - 1/length). Names shorter than three characters match only exactly.
    """
    fz = index.fuzzy[kind]
    out: dict[str, float] = {}

    def take(surface: str, sim: float) -> None:
        for key, base in fz.surfaces[surface].items():
            out[key] = max(out.get(key, 0.0), sim * base)

    if text in fz.surfaces:
        take(text, 1.0)
        return _canonical_first(out)
    n = len(text)
    if n < 3:
        return out
    for surface in fz.pinyin.get(pinyin_key(text), ()):
        take(surface, HOMOPHONE_SIM)
    for i in range(n if n <= fz.longest + 1 else 0):  # quadratic in n: only where one can match
        for surface in fz.replaced.get(text[:i] + "*" + text[i + 1 :], ()):
            take(surface, 1 - 1 / n)
        shorter = text[:i] + text[i + 1 :]
        if shorter in fz.surfaces:
            take(shorter, 1 - 1 / n)
    for surface in fz.dropped.get(text, ()):
        take(surface, 1 - 1 / (n + 1))
    return out


def _longest(index: AddressIndex, s: str, pos: int, admin_zone: bool):
    limit = len(s) - pos
    for length in index.lengths:
        if length > limit:
            continue
        entries = index.gazetteer.get(s[pos : pos + length])
        if entries:
            if not admin_zone:
                entries = [e for e in entries if not e[3]]
            if entries:
                return pos + length, entries
    return None


class _Reader:
    def __init__(self, index: AddressIndex) -> None:
        self.index = index
        self.query = Query()
        self.last: str | None = None

    @property
    def admin_zone(self) -> bool:
        return not (set(self.query.named) - set(ADMIN_LEVELS)) and not self.query.numbers

    def known(self, entries) -> None:
        q = self.query
        kinds: dict[str, dict[str, float]] = {}
        for kind, key, sim, _short in entries:
            kinds.setdefault(kind, {})[key] = max(kinds.get(kind, {}).get(key, 0.0), sim)
        for kind, keys in kinds.items():
            keys = _canonical_first(keys)
            if kind == "name":
                q.names.extend(keys)
            elif kind not in q.named:
                q.named[kind] = keys
        self.last = next(iter(kinds))

    def unknown(self, text: str) -> None:
        q = self.query
        if not self.admin_zone or not any(s in text for s in _ADMIN_ENDS):
            best = {}
            for kind in _NAMED:
                found = {} if kind in q.named else fuzzy_lookup(self.index, kind, text)
                if found and max(found.values()) > max(best.values(), default=0.0):
                    best, level = found, kind
            if best:
                q.named[level], q.texts[level] = best, text
                self.last = level
                return
        parts = split_address(text)
        if not self.admin_zone:
            parts = {k: v for k, v in parts.items() if k not in ADMIN_LEVELS}
            if not parts:
                parts = {"poi": text}
        for level, piece in parts.items():
            if level not in q.named and level in self.index.fuzzy:
                found = fuzzy_lookup(self.index, level, piece)
                if not found and level in _NAMED:
                    other = "road" if level == "poi" else "poi"
                    alt = {} if other in q.named else fuzzy_lookup(self.index, other, piece)
                    if alt:
                        level, found = other, alt
                q.named[level] = found
                q.texts[level] = piece
                self.last = level
            elif level in ("roadno", "houseno") and level not in q.numbers:
                q.numbers[level] = parts[level]
            else:
                q.extra += 1

    def number(self, value: str) -> None:
        q = self.query
        if self.last == "road" and "roadno" not in q.numbers:
            q.numbers["roadno"] = value
        elif "poi" in q.named and "houseno" not in q.numbers:
            q.numbers["houseno"] = value
        elif "roadno" not in q.numbers:
            q.numbers["roadno"] = value
        else:
            q.extra += 1
        self.last = "number"


def _tokens(index: AddressIndex, head: str) -> list[tuple]:
    """Known names, numbers and unknown stretches of `head`, in order."""
    tokens: list[tuple] = []
    pos, start, n = 0, None, len(head)
    zone = True  # still in the divisions at the start: short names (滨江 for 滨江区) allowed
    while pos < n:
        zone = zone and (
            not tokens
            or tokens[-1][0] == "unknown"
            or (tokens[-1][0] == "known" and all(e[0] in ADMIN_LEVELS for e in tokens[-1][2]))
        )
        hit = _longest(index, head, pos, zone)
        number = _NUMBER.match(head, pos) if head[pos].isdigit() else None
        if number and _PHASE.match(head, number.start(1) + len(number.group(1))):
            number = None  # 2期, 3区: part of the compound name
        if hit is None and number is None:
            start = pos if start is None else start
            pos += 1
            continue
        if start is not None:
            tokens.append(("unknown", head[start:pos]))
            start = None
        if number is not None:
            tokens.append(("number", number.group(1)))
            pos = number.end()
        else:
            tokens.append(("known", head[pos : hit[0]], hit[1]))
            pos = hit[0]
    if start is not None:
        tokens.append(("unknown", head[start:]))
    return tokens


def _merge(index: AddressIndex, tokens: list[tuple]) -> list[tuple]:
    """Join an unknown stretch to the road or compound name it touches when the joined text
    is a near miss of a name (溪梧桐路 for 西梧桐路, not 梧桐路 with a stray 溪)."""
    out = list(tokens)
    i = 0
    while i < len(out):
        if out[i][0] != "unknown":
            i += 1
            continue
        for j in (i + 1, i - 1):
            if not 0 <= j < len(out) or out[j][0] != "known":
                continue
            text = out[i][1] + out[j][1] if j > i else out[j][1] + out[i][1]
            kinds = dict.fromkeys(e[0] for e in out[j][2] if e[0] in _NAMED)
            found = {k: fuzzy_lookup(index, k, text) for k in kinds}
            found = {k: v for k, v in found.items() if v}
            if found:
                kind = max(found, key=lambda k: max(found[k].values()))
                lo, hi = min(i, j), max(i, j)
                out[lo : hi + 1] = [("fuzzy", text, kind, found[kind])]
                break
        i += 1
    return out


def read_query(index: AddressIndex, s: str) -> Query:
    """Read a cleaned query address into a :class:`Query` against `index`."""
    head, units = split_units(s)
    reader = _Reader(index)
    for token in _merge(index, _tokens(index, head)):
        if token[0] == "unknown":
            reader.unknown(token[1])
        elif token[0] == "number":
            reader.number(token[1])
        elif token[0] == "known":
            reader.known(token[2])
        elif token[2] not in reader.query.named:
            reader.query.named[token[2]] = token[3]
            reader.query.texts[token[2]] = token[1]
            reader.last = token[2]
    q = reader.query
    for level, value in units.items():
        q.numbers.setdefault(level, value)
    return q
