"""Fixes applied to the tagger's spans (rules the tagger cannot learn from one token's view).

Each function takes and returns components ``[label, start, end]`` on the normalised text.
"""

from __future__ import annotations

import re

from geo.address.divisions import DivisionIndex

__all__ = ["keep_rule_spans", "lone_divisions", "structure", "trim_separators", "units_whole"]

_UNIT_WORDS = {"栋": "houseno", "单元": "cellno", "楼": "floorno", "层": "floorno", "室": "roomno"}
_UNIT_NUMBER = re.compile(r"第?[A-Z]?[0-9]+[A-Z]?|[A-Z]")


def units_whole(comps: list[list], s: str, rules: list[list]) -> list[list]:
    """A building, unit, floor or room word the tagger cut from its number joins it again
    (1057|幢 → 1057幢), labelled as the rule parser labelled the whole, else by the word;
    a 楼 right after 栋 stays with the building (三栋楼)."""
    out: list[list] = []
    for comp in comps:
        word = s[comp[1] : comp[2]]
        last = out[-1] if out else None
        if (
            word in _UNIT_WORDS
            and last is not None
            and last[2] == comp[1]
            and _UNIT_NUMBER.fullmatch(s, last[1], last[2])
        ):
            whole = next((r[0] for r in rules if r[1] == last[1] and r[2] == comp[2]), None)
            last[0], last[2] = whole or _UNIT_WORDS[word], comp[2]
            continue
        if word == "楼" and last is not None and last[2] == comp[1] and s[comp[1] - 1] == "栋":
            last[2] = comp[2]  # 三栋楼: one building
            continue
        out.append(comp)
    return out


def lone_divisions(comps: list[list], s: str, index: DivisionIndex) -> list[list]:
    """A county or larger written once in full is not noise (浙江省杭州市杭州市西湖区: the
    second 杭州市 is, 西湖区 is not), even where the tagger calls it redundant."""
    if not any(c[0] == "redundant" for c in comps):
        return comps
    named = [{i for i, short in index.by_name.get(s[a:b], ()) if not short} for _, a, b in comps]
    for k, comp in enumerate(comps):
        if comp[0] != "redundant" or not named[k]:
            continue
        ids = named[k]
        levels = {index.divisions[i].level for i in ids}
        if len(levels) != 1 or not levels <= {"prov", "city", "district"}:
            continue
        others = set().union(*(n for j, n in enumerate(named) if j != k))
        if ids & others:
            continue  # written twice: one of the two is noise
        if others and not any(index.ancestors[i] & others for i in ids):
            continue  # does not belong to the divisions around it
        comp[0] = levels.pop()
    return comps


_EDGE = " -_/,"


def trim_separators(comps: list[list], s: str) -> list[list]:
    """A separator at either end of a named span is noise of its own (金华市- → 金华市, -)."""
    out: list[list] = []
    for label, a, b in comps:
        if label == "redundant" or b - a < 2 or not (s[a] in _EDGE or s[b - 1] in _EDGE):
            out.append([label, a, b])
            continue
        start, end = a, b
        while start < end and s[start] in _EDGE:
            start += 1
        while end > start and s[end - 1] in _EDGE:
            end -= 1
        if start == end:
            out.append(["redundant", a, b])
            continue
        if start > a:
            out.append(["redundant", a, start])
        out.append([label, start, end])
        if end < b:
            out.append(["redundant", end, b])
    return out


def structure(comps: list[list]) -> list[list]:
    """A sub-place or recipient always belongs to a place named before it: the first
    ``subpoi``/``person`` with no ``poi`` before it is the place itself."""
    seen_poi = False
    for comp in comps:
        if comp[0] == "poi":
            seen_poi = True
        elif comp[0] in ("subpoi", "person") and not seen_poi:
            comp[0] = "poi"
            seen_poi = True
    return comps


def keep_rule_spans(comps: list[list], rules: list[list], labels: frozenset[str]) -> list[list]:
    """The rule parser's spans of `labels` replace whatever the tagger made of their text; a
    tagger span reaching past one keeps its parts outside it."""
    kept = [list(r) for r in rules if r[0] in labels]
    if all(r in comps for r in kept):  # the tagger agrees (spans never overlap)
        return comps
    out = list(kept)
    for label, a, b in comps:
        parts = [(a, b)]
        for _, ka, kb in kept:
            parts = [p for x, y in parts for p in ((x, min(y, ka)), (max(x, kb), y)) if p[0] < p[1]]
        out += [[label, x, y] for x, y in parts]
    return sorted(out, key=lambda c: c[1])
