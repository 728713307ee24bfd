"""Geocode addresses against an :class:`~geo.geocode.index.AddressIndex`.

Each candidate place is compared with the query level by level, coarse to fine, and matched
down to the first level where the two disagree: a different division, road, door number,
compound or building ends the match there. A building-level answer (houseno or finer) needs
the compound, or the road and door number, to agree as well as the building number; a
compound known only by a fuzzy name (one character off, not a homophone) needs the road and
door number to confirm it. Candidates that tie at the best level but stand for different
places are ambiguous: the answer steps back to the finest level they share, or to none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.geocode.index import AddressIndex
from geo.geocode.query import Query, read_query
from geo.geocode.text import FIELDS, clean

__all__ = ["OUT_LEVELS", "Candidate", "Match", "geocode", "geocode_many"]

#: Levels of an answer, finest first (the contract's list).
OUT_LEVELS = (
    "roomno", "cellno", "houseno", "poi", "roadno", "road", "community", "town", "district",
    "city", "none",
)  # fmt: skip
#: Below this similarity a name does not match at all.
MIN_SIM = 0.6
#: A compound name this similar (exact, alias, homophone) is enough for a building answer.
SURE_SIM = 0.9
#: Candidates within this score of the best count as a tie.
TIE = 0.02
#: Tied candidates closer than this (degrees, ~50 m) are one place given twice.
SAME_PLACE = 0.0005
_WEIGHT = {f: 0.5 for f in FIELDS[:5]} | {"road": 1.0, "roadno": 1.0, "poi": 1.5}
_WEIGHTS = [_WEIGHT.get(f, 1.0) for f in FIELDS]
_POI, _HOUSE = FIELDS.index("poi"), FIELDS.index("houseno")
_ROAD, _ROADNO = FIELDS.index("road"), FIELDS.index("roadno")
_REPORTED = {f: f for f in OUT_LEVELS} | {"floorno": "cellno", "prov": "none"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place the answer could have been, for the caller to choose from."""

    matched_id: str
    matched_address: str
    level: str
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """The answer for one address.

    Attributes
    ----------
    lon, lat
        WGS-84 point of the matched place; None when `level` is ``none``.
    level
        The finest element matched, one of :data:`OUT_LEVELS`.
    score
        Confidence in [0, 1] of the answer at that level.
    matched_id, matched_address
        The base place standing for the answer (None when `level` is ``none``).
    candidates
        Other readings, best first (the places an ambiguous or unmatched address may mean).
    """

    lon: float | None
    lat: float | None
    level: str
    score: float
    matched_id: str | None
    matched_address: str | None
    candidates: tuple[Candidate, ...] = field(default=())


NONE = Match(None, None, "none", 0.0, None, None)


def _candidates(index: AddressIndex, q: Query) -> set[int]:
    """Places worth comparing: by place name, compound (+ building), road (+ door), division."""
    out: set[int] = set()
    for label in q.names:
        out.update(index.by_key.get(("name", label), ()))
    house, roadno = q.numbers.get("houseno"), q.numbers.get("roadno")
    for kind, number in (("poi", house), ("road", roadno)):
        for key in q.named.get(kind) or ():
            exact = index.by_house.get((kind, key, number), ()) if number else ()
            out.update(exact)
            if exact and kind == "road":
                continue
            coarse = index.by_key.get((f"{kind}:own", key))
            out.update(coarse or index.by_key.get((kind, key), ())[:200])
    return out


def _admin_answer(index: AddressIndex, q: Query, wants: list) -> Match | None:
    """The finest division the query names, when it names no road, compound or place."""
    asked = 0.5 * q.extra + sum(_WEIGHTS[i] for i, w in enumerate(wants) if w is not None)
    for level in range(4, -1, -1):
        keys = q.named.get(FIELDS[level]) or {}
        if len(keys) != 1:
            continue
        ((key, sim),) = keys.items()
        members = index.by_key.get((FIELDS[level], key), [])
        matched = sum(_WEIGHTS[i] for i in range(level + 1) if wants[i] is not None)
        entity = (None,) * level + (key,) + (None,) * (len(FIELDS) - level - 1)
        if members:
            return _answer(index, level, entity, members, sim * matched / asked)
    return None


def _compare(index: AddressIndex, wants: list, q: Query, p: int) -> tuple[int, float, float]:
    """How place `p` agrees with the query (`wants`: the query's value per level).

    Returns
    -------
    level : int
        Index in FIELDS of the finest level that agrees (-1: none).
    quality : float
        Product of the name similarities down to that level.
    score : float
        `quality` times the share of what the query asked (weighted by level) that agrees;
        unit levels finer than anything the place records are not counted as asked.
    """
    row = index.fields[p]
    sims: dict[int, float] = {}
    for i, want in enumerate(wants):
        have = row[i]
        if want is None or have is None:
            if i >= _HOUSE and (want is None) != (have is None):
                break  # the place is finer or coarser than what is asked
            continue
        sim = want.get(have, 0.0) if isinstance(want, dict) else float(want == have)
        if sim < MIN_SIM:
            break
        sims[i] = sim
    if not sims:
        return -1, 0.0, 0.0
    top = max(sims)
    road_sure = sims.get(_ROAD, 0.0) >= SURE_SIM and _ROADNO in sims
    poi = sims.get(_POI)
    if top >= _HOUSE:
        sure = (poi is not None and (poi >= SURE_SIM or road_sure)) or (
            wants[_POI] is None and road_sure
        )
        if not sure:
            top = max(i for i in sims if i < _HOUSE)
    if top == _POI and poi is not None and poi < 0.75 and not road_sure:
        top = max((i for i in sims if i < _POI), default=-1)
    if top < 0:
        return -1, 0.0, 0.0
    deepest = max(top, int(index.own_level[p]), _HOUSE if wants[_HOUSE] is not None else -1)
    asked = 0.5 * q.extra + sum(_WEIGHTS[i] for i in range(deepest + 1) if wants[i] is not None)
    got = sum(_WEIGHTS[i] for i in sims if i <= top)
    quality = math.prod(s for i, s in sims.items() if i <= top)
    return top, quality, quality * got / asked


def _entity(row: tuple, level: int) -> tuple:
    return row[: level + 1] + (None,) * (len(FIELDS) - level - 1)


def _answer(index: AddressIndex, level: int, entity: tuple, members: list[int], score: float):
    """The match for `entity`: its own place, else the coarsest member (centroid if spread)."""
    name = _REPORTED[FIELDS[level]]
    if name == "none":
        return NONE
    place = index.exact.get(entity)
    if place is not None:
        lon, lat = index.lon[place], index.lat[place]
    else:
        place = members[int(np.argmin(index.own_level[members]))]
        lon, lat = index.lon[place], index.lat[place]
        xs, ys = index.lon[members], index.lat[members]
        if np.ptp(xs) > SAME_PLACE or np.ptp(ys) > SAME_PLACE:
            lon, lat = float(xs.mean()), float(ys.mean())
            place = members[int(np.argmin((xs - lon) ** 2 + (ys - lat) ** 2))]
    return Match(
        float(lon), float(lat), name, round(score, 4), index.ids[place], index.addresses[place]
    )


def _door_on_segment(index: AddressIndex, q: Query, road: str, score: float) -> Match | None:
    """A door number the base has no place for, placed on the road line whose range holds it."""
    number = q.numbers.get("roadno", "").split("-")[0]
    if not number.isdigit():
        return None
    no = int(number)
    for lo, hi, place in index.segments.get(road, ()):
        if lo <= no <= hi and hi > lo:
            point = shapely.line_interpolate_point(
                index.lines[place], (no - lo) / (hi - lo), normalized=True
            )
            return Match(
                point.x, point.y, "roadno", round(0.9 * score, 4), index.ids[place],
                index.addresses[place],
            )  # fmt: skip
    return None


def _suggest(index: AddressIndex, q: Query, limit: int = 5) -> tuple[Candidate, ...]:
    from rapidfuzz import fuzz, process

    out: list[Candidate] = []
    for kind in ("poi", "road"):
        text = q.texts.get(kind)
        if not text:
            continue
        names = index.names[kind]
        for key, score, _ in process.extract(text, names, scorer=fuzz.ratio, limit=limit):
            members = index.by_key[kind, key]
            p = min(members, key=lambda m: index.own_level[m])
            out.append(Candidate(index.ids[p], index.addresses[p], kind, round(score / 100, 4)))
    return tuple(sorted(out, key=lambda c: -c.score)[:limit])


def geocode(index: AddressIndex, text: str) -> Match:
    """Geocode one address.

    Parameters
    ----------
    index
        The address base (:func:`geo.geocode.build_index`).
    text
        An address as people write it: levels may be missing, names misspelt, traditional
        characters, full-width digits, Chinese numerals, trailing 旁边/对面/门口 ….

    Returns
    -------
    Match
        The finest level that is certain; ``none`` (with `candidates`) when nothing is.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> base = gpd.GeoDataFrame(
    ...     {"id": ["B1"], "address": ["滨江区长江路1号阳光花园3栋"]},
    ...     geometry=[Point(118.8, 32.0)], crs=4326)
    >>> from geo.geocode import build_index
    >>> geocode(build_index(base), "阳光花园三栋旁边").level
    'houseno'
    """
    if not text or text.isspace():
        return NONE
    q = read_query(index, clean(text))
    cands = _candidates(index, q)
    wants = [q.get(f) for f in FIELDS]
    if not cands:
        coarse = _admin_answer(index, q, wants)
        suggestions = _suggest(index, q)
        if coarse is None:
            return Match(None, None, "none", 0.0, None, None, suggestions)
        return Match(*[getattr(coarse, f) for f in Match.__slots__[:6]], suggestions)
    scored = []
    named = {p for n in q.names for p in index.by_key.get(("name", n), ())}
    for p in cands:
        level, quality, score = _compare(index, wants, q, p)
        if p in named:
            level, quality, score = max(level, min(int(index.own_level[p]), _POI)), 1.0, 1.0
        if level >= 0:
            scored.append((level, quality, score, p))
    if not scored:
        return Match(None, None, "none", 0.0, None, None, _suggest(index, q))
    scored.sort(key=lambda t: (-t[0], -t[1], -t[2], t[3]))
    level, quality, score, best = scored[0]
    admin = max((i for i in range(5) if wants[i]), default=-1)
    if level < admin:  # the named division holds none of the candidates
        coarse = _admin_answer(index, q, wants)
        if coarse is not None:
            return coarse
    if level == _ROAD and "roadno" in q.numbers:
        road = index.fields[best][_ROAD]
        door = _door_on_segment(index, q, road, quality)
        if door is not None:
            return door
    tied = [t[3] for t in scored if t[0] == level and t[1] >= quality - TIE]
    entities = {_entity(index.fields[p], level) for p in tied}
    alternatives = tuple(
        Candidate(index.ids[p], index.addresses[p], _REPORTED[FIELDS[lv]], round(s, 4))
        for lv, _, s, p in scored[:5]
    )
    if len(entities) > 1:
        lon, lat = index.lon[tied], index.lat[tied]
        if np.ptp(lon) > SAME_PLACE or np.ptp(lat) > SAME_PLACE:
            level = _shared(index, q, tied, level)
            if level < 0:
                return Match(None, None, "none", 0.0, None, None, alternatives)
            score *= 0.8
    entity = _entity(index.fields[best], level)
    members = [t[3] for t in scored if _entity(index.fields[t[3]], level) == entity]
    match = _answer(index, level, entity, members, score)
    return Match(*[getattr(match, f) for f in Match.__slots__[:6]], alternatives)


def _shared(index: AddressIndex, q: Query, tied: list[int], level: int) -> int:
    """Finest level the query names (below `level`) where all tied places agree, or -1."""
    for lv in range(level - 1, -1, -1):
        if q.get(FIELDS[lv]) is None:
            continue
        rows = {_entity(index.fields[p], lv) for p in tied}
        if len(rows) == 1 and next(iter(rows))[lv] is not None:
            return lv
    return -1


def geocode_many(index: AddressIndex, texts: Iterable[str]) -> list[Match]:
    """Geocode many addresses; repeated texts are geocoded once.

    Parameters
    ----------
    index
        The address base.
    texts
        Addresses, one per item.

    Returns
    -------
    list of Match
        One per input, in order.
    """
    done: dict[str, Match] = {}
    out = []
    for text in texts:
        match = done.get(text)
        if match is None:
            match = done[text] = geocode(index, text)
        out.append(match)
    return out
