"""The standard address base as an in-memory index: places split into hierarchy levels.

Every place (a building, compound, road, station …) becomes one tuple of :data:`FIELDS` and one
point. Names of every level go into a gazetteer (exact look-ups by normalised text), and the
names of divisions, roads and compounds (with their aliases) into three fuzzy tables: one
character replaced, one character dropped, and the toneless pinyin (homophones).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError
from geo.geocode.text import (
    ADMIN_LEVELS,
    FIELDS,
    admin_short,
    clean,
    name_aliases,
    pinyin_key,
    split_address,
)

__all__ = ["AddressIndex", "Fuzzy", "build_index"]

#: Similarity given to a compound alias (荷塘小区 for 荷塘花园) found verbatim.
ALIAS_SIM = 0.95
_POI = FIELDS.index("poi")
_HOUSE = FIELDS.index("houseno")
_ROAD = FIELDS.index("road")
_ROADNO = FIELDS.index("roadno")


@dataclass(slots=True)
class Fuzzy:
    """Near-miss look-ups of the names of one kind (surface form → canonical keys).

    Attributes
    ----------
    surfaces
        Every surface form (names and aliases) → ``{key: similarity of the surface}``.
    replaced
        Surface with one character replaced by ``*`` → surfaces.
    dropped
        Surface with one character dropped → surfaces.
    pinyin
        Toneless pinyin → surfaces.
    """

    surfaces: dict[str, dict[str, float]] = field(default_factory=dict)
    replaced: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    dropped: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    pinyin: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    longest: int = 0  # characters of the longest surface: no edit of a longer text matches

    def add(self, surface: str, key: str, sim: float) -> None:
        """Add one surface form of `key`."""
        known = self.surfaces.setdefault(surface, {})
        if known.get(key, 0.0) >= sim:
            return
        new = not known
        known[key] = sim
        self.longest = max(self.longest, len(surface))
        if not new or len(surface) < 3:
            return
        for i in range(len(surface)):
            self.replaced[surface[:i] + "*" + surface[i + 1 :]].add(surface)
            self.dropped[surface[:i] + surface[i + 1 :]].add(surface)
        self.pinyin[pinyin_key(surface)].add(surface)


@dataclass(slots=True)
class AddressIndex:
    """The address base, ready for :func:`geo.geocode.geocode`.

    Attributes
    ----------
    ids, addresses
        Per place: its ``id`` (string) and ``address`` as given.
    lon, lat
        Per place: the point (WGS-84); a polygon's representative point, a line's midpoint.
    fields
        Per place: one value (normalised text or None) per level of :data:`FIELDS`.
    own_level
        Per place: index in :data:`FIELDS` of its finest level.
    gazetteer
        Normalised name → ``[(kind, key, similarity, short)]``; kinds are the admin levels,
        ``road``, ``poi`` and ``name`` (a place's own ``name``).
    lengths
        Lengths of the gazetteer names, longest first.
    fuzzy
        Kind → :class:`Fuzzy` for the admin levels, ``road`` and ``poi``.
    by_key
        ``(kind, key)`` → places with that name at that level (``name``: the place itself;
        ``poi:own``/``road:own``: the places that are that compound or road themselves).
    by_house
        ``(poi, houseno)`` and ``(road, roadno)`` pairs → places.
    exact
        Full tuple of fields → the first place with exactly those.
    segments
        Road key → ``[(from_no, to_no, place)]`` where the base gives house-number ranges.
    lines
        Place → its line geometry, for roads with ranges.
    names
        ``road`` and ``poi`` → their canonical names (for suggestions).
    """

    ids: list[str]
    addresses: list[str]
    lon: np.ndarray
    lat: np.ndarray
    fields: list[tuple]
    own_level: np.ndarray
    gazetteer: dict[str, list[tuple[str, str, float, bool]]]
    lengths: tuple[int, ...]
    fuzzy: dict[str, Fuzzy]
    by_key: dict[tuple[str, str], list[int]]
    by_house: dict[tuple[str, str, str], list[int]]
    exact: dict[tuple, int]
    segments: dict[str, list[tuple[int, int, int]]]
    lines: dict[int, object]
    names: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def _points(geometry: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    geoms = np.asarray(geometry.values, dtype=object)
    if np.any(shapely.is_missing(geoms)) or np.any(shapely.is_empty(geoms)):
        rows = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))[:5] + 1
        msg = f"places without a geometry (rows {', '.join(map(str, rows))})"
        raise InputError(msg)
    kinds = shapely.get_type_id(geoms)
    out = shapely.point_on_surface(geoms)
    lines = np.isin(kinds, (1, 2, 5))
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    xy = shapely.get_coordinates(out)
    return xy[:, 0], xy[:, 1]


def _check(places: gpd.GeoDataFrame) -> None:
    missing = [c for c in ("id", "address") if c not in places.columns]
    if missing:
        msg = (
            f"the address base needs properties 'id' and 'address' on every feature; missing: "
            f"{', '.join(missing)} (got {', '.join(map(str, places.columns.drop('geometry')))})"
        )
        raise InputError(msg)
    for column in ("id", "address"):
        bad = places[column].isna() | (places[column].astype(str).str.strip() == "")
        if bad.any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:5])
            msg = f"{int(bad.sum())} places have an empty '{column}' (rows {rows})"
            raise InputError(msg)


def _int_or_none(value) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def build_index(places: gpd.GeoDataFrame) -> AddressIndex:
    """Index a standard address base for geocoding.

    Parameters
    ----------
    places
        Features with ``id`` and ``address``, optionally ``name``, and optionally
        ``from_no``/``to_no`` (house-number range of a road line). Points, polygons (their
        representative point) or lines (their midpoint), in EPSG:4326.

    Returns
    -------
    AddressIndex

    Raises
    ------
    InputError
        If ``id`` or ``address`` is missing or empty, or a geometry is missing.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> base = gpd.GeoDataFrame(
    ...     {"id": ["B1"], "address": ["滨江区长江路1号阳光花园3栋"]},
    ...     geometry=[Point(118.8, 32.0)], crs=4326)
    >>> build_index(base).fields[0][-5:]
    ('阳光花园', '3', None, None, None)
    """
    _check(places)
    if places.crs is not None and places.crs.to_epsg() != 4326:
        places = places.to_crs(4326)
    lon, lat = _points(places.geometry)
    ids = places["id"].astype(str).tolist()
    addresses = places["address"].astype(str).tolist()
    names = places["name"].tolist() if "name" in places.columns else [None] * len(ids)
    ranges = (
        list(zip(places["from_no"], places["to_no"], strict=True))
        if {"from_no", "to_no"} <= set(places.columns)
        else [(None, None)] * len(ids)
    )
    gazetteer: dict[str, list[tuple[str, str, float, bool]]] = defaultdict(list)
    fuzzy = {kind: Fuzzy() for kind in (*ADMIN_LEVELS, "road", "poi")}
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_house: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    exact: dict[tuple, int] = {}
    segments: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    lines: dict[int, object] = {}
    fields: list[tuple] = []
    own = np.zeros(len(ids), dtype=np.int8)
    seen: set[tuple[str, str]] = set()

    def name(kind: str, text: str, key: str, sim: float = 1.0, short: bool = False) -> None:
        entry = (kind, key, sim, short)
        if entry not in gazetteer[text]:
            gazetteer[text].append(entry)
        if kind in fuzzy:
            fuzzy[kind].add(text, key, sim)

    for i, (address, label) in enumerate(zip(addresses, names, strict=True)):
        parts = split_address(clean(address))
        label = clean(str(label)) if isinstance(label, str) and label.strip() else None
        if label and "poi" not in parts and label != parts.get("road"):
            parts["poi"] = label
        row = tuple(parts.get(f) for f in FIELDS)
        fields.append(row)
        own[i] = max(k for k, v in enumerate(row) if v is not None) if parts else -1
        exact.setdefault(row, i)
        for level, value in parts.items():
            if level in ADMIN_LEVELS or level in ("road", "poi"):
                by_key[level, value].append(i)
                if (level, value) not in seen:
                    seen.add((level, value))
                    name(level, value, value)
                    if level in ("prov", "city", "district") and (short := admin_short(value)):
                        name(level, short, value, short=True)
                    if level == "poi":
                        for alias in name_aliases(value):
                            name("poi", alias, value, ALIAS_SIM)
        if own[i] == _POI and row[_POI]:
            by_key["poi:own", row[_POI]].append(i)
        if own[i] == _ROAD and row[_ROAD]:
            by_key["road:own", row[_ROAD]].append(i)
        if row[_POI] and row[_HOUSE]:
            by_house["poi", row[_POI], row[_HOUSE]].append(i)
        if row[_ROAD] and row[_ROADNO]:
            by_house["road", row[_ROAD], row[_ROADNO]].append(i)
        if label and label != row[_POI] and label != row[_ROAD]:
            by_key["name", label].append(i)
            name("name", label, label)
        lo, hi = (_int_or_none(v) for v in ranges[i])
        if row[_ROAD] and lo is not None and hi is not None:
            segments[row[_ROAD]].append((lo, hi, i))
            lines[i] = places.geometry.iloc[i]
    return AddressIndex(
        ids=ids,
        addresses=addresses,
        lon=np.asarray(lon, dtype=float),
        lat=np.asarray(lat, dtype=float),
        fields=fields,
        own_level=own,
        gazetteer=dict(gazetteer),
        lengths=tuple(sorted({len(k) for k in gazetteer if len(k) >= 2}, reverse=True)),
        fuzzy=fuzzy,
        by_key=dict(by_key),
        by_house=dict(by_house),
        exact=exact,
        segments=dict(segments),
        lines=lines,
        names={k: sorted({key for kind, key in by_key if kind == k}) for k in ("road", "poi")},
    )
