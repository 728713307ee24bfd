"""Geocoding against the database's address base: a process-wide index per database, rebuilt
when the data change, and reverse geocoding through PostGIS.

The index is built lazily on the first request for a database URL. Each later request compares
:func:`api.storage.addresses.address_base_version` (row counts, largest ids and a change counter
that triggers bump on every write to an address column) with the one the index was built from
and rebuilds when it differs; :func:`invalidate` forces a rebuild.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.storage import addresses as store
from geo.coords import from_wgs84, to_wgs84
from geo.geocode import AddressIndex, Match, build_index, geocode, geocode_many

__all__ = ["Reverse", "geocode_many_db", "geocode_one", "get_index", "invalidate", "reverse"]

#: Default tolerance of reverse geocoding, metres from a building.
MAX_DISTANCE_M = 50.0


@dataclass(slots=True)
class _Entry:
    version: tuple[int, ...]
    index: AddressIndex


_indexes: dict[str, _Entry] = {}
_lock = threading.Lock()


def invalidate(url: str | None = None) -> None:
    """Forget the index of one database (all databases without `url`); the next use rebuilds."""
    with _lock:
        if url is None:
            _indexes.clear()
        else:
            _indexes.pop(url, None)


def get_index(session: Session, url: str) -> AddressIndex:
    """The address index of the database at `url`, (re)built from `session` when stale."""
    version = store.address_base_version(session)
    entry = _indexes.get(url)
    if entry is not None and entry.version == version:
        return entry.index
    with _lock:
        entry = _indexes.get(url)
        if entry is None or entry.version != version:
            entry = _Entry(version, build_index(store.load_address_base(session)))
            _indexes[url] = entry
        return entry.index


def _in_crs(match: Match, crs: str) -> Match:
    if match.lon is None or crs == "wgs84":
        return match
    lon, lat = from_wgs84(match.lon, match.lat, crs=crs)
    return Match(
        float(lon),
        float(lat),
        match.level,
        match.score,
        match.matched_id,
        match.matched_address,
        match.candidates,
    )


def geocode_one(session: Session, url: str, text: str, *, crs: str = "wgs84") -> Match:
    """Geocode one address; lon/lat in `crs`."""
    return _in_crs(geocode(get_index(session, url), text), crs)


def geocode_many_db(
    session: Session, url: str, texts: list[str], *, crs: str = "wgs84"
) -> list[Match]:
    """Geocode many addresses (repeated texts are matched once); lon/lat in `crs`."""
    return [_in_crs(m, crs) for m in geocode_many(get_index(session, url), texts)]


@dataclass(frozen=True, slots=True)
class Reverse:
    """What is at a point: the nearest building (within the tolerance) and the areas around it."""

    address: str | None
    building_id: str | None
    distance_m: float | None
    areas: store.Containing
    place: store.NearestPlace | None = None


def reverse(
    session: Session,
    lon: float,
    lat: float,
    *,
    crs: str = "wgs84",
    max_distance_m: float = MAX_DISTANCE_M,
) -> Reverse:
    """Reverse-geocode a point given in `crs`; fields are None where nothing is found."""
    x, y = (float(v) for v in to_wgs84(lon, lat, crs=crs))
    building = store.nearest_building(session, x, y, max_distance_m=max_distance_m)
    place = None
    if building is None or not building.address:
        place = store.nearest_place(session, x, y, max_distance_m=max_distance_m)
    return Reverse(
        address=building.address if building and building.address else place and place.address,
        place=place,
        building_id=building.building_id if building else None,
        distance_m=round(building.distance_m, 2) if building else None,
        areas=store.containing(session, x, y),
    )
