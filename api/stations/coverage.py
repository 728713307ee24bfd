"""Coverage and site suggestions on a database: stations, buildings and the cached network.

Stations anywhere in the database serve an area; only the area's buildings (a community, a
street office, or everything) are counted. The gap layer is the area's uncovered buildings
grown by 30 m and dissolved (geo.coverage.gap_areas).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from api.db import session_factory
from api.errors import NotFoundError
from api.stations.budget import bounded
from api.stations.network import database_url, get_network
from api.storage import stations as store
from data.catalogs import function_names
from geo import coverage as cov
from geo.errors import InputError
from geo.network import reach_matrix

GAP_BUFFER_M = 30.0
GAP_METHOD = f"uncovered buildings grown by {GAP_BUFFER_M:g} m and dissolved"


def check_function(function: str) -> str:
    """A function code, ``any`` or ``all``; InputError naming the known ones otherwise."""
    known = [cov.ANY, cov.ALL, *function_names()]
    if function not in known:
        msg = f"unknown function {function!r}: expected one of {', '.join(known)}"
        raise InputError(msg)
    return function


def _area_buildings(
    session: Session, *, community: str | None, street: str | None
) -> gpd.GeoDataFrame:
    if not store.area_exists(session, community=community, street=street):
        what = f"community {community}" if community else f"street office {street}"
        raise NotFoundError(f"no {what}")
    return store.building_frame(session, community=community, street=street)


@dataclass
class Coverage:
    """Coverage of an area: the share table, per-building minutes and the gap layer."""

    table: pd.DataFrame
    buildings: gpd.GeoDataFrame
    minutes: pd.DataFrame
    function: str
    within: float
    uncovered: np.ndarray
    gaps: gpd.GeoDataFrame


def coverage(
    session: Session,
    *,
    community: str | None = None,
    street: str | None = None,
    function: str = cov.ANY,
    minutes: float = 15.0,
    thresholds: Sequence[float] = cov.THRESHOLDS,
    speed_kmh: float = 4.5,
    bounded_by_budget: bool = True,
) -> Coverage:
    """Shares per function (or only `function`) at each threshold, per grid, community and
    street office; the buildings without `function` within `minutes`; their gap layer.
    Under the analysis budget (api/stations/budget.py) unless `bounded_by_budget` is False
    (the command line, which may take its time)."""
    check_function(function)
    if minutes <= 0:
        raise InputError(f"minutes must be positive (got {minutes:g})")
    thresholds = tuple(sorted({*map(float, thresholds), float(minutes)}))
    if not bounded_by_budget:
        return _coverage(session, community, street, function, minutes, thresholds, speed_kmh)
    url = database_url(session)
    key = ("coverage", url, store.analysis_version(session), community, street, function,
           float(minutes), thresholds, float(speed_kmh))  # fmt: skip
    if not store.area_exists(session, community=community, street=street):
        _area_buildings(session, community=community, street=street)  # its 404

    def job() -> Coverage:  # a session of its own: it may outlive the request
        with session_factory(url)() as own:
            return _coverage(own, community, street, function, minutes, thresholds, speed_kmh)

    return bounded(key, job)


def _coverage(
    session: Session,
    community: str | None,
    street: str | None,
    function: str,
    minutes: float,
    thresholds: Sequence[float],
    speed_kmh: float,
) -> Coverage:
    buildings = _area_buildings(session, community=community, street=street)
    net = get_network(session)
    stations = store.station_frame(session)
    functions = list(function_names(extras=False))
    if function not in (cov.ANY, cov.ALL, *functions):
        functions.append(function)
    table_minutes = cov.minutes_by_function(
        net,
        stations,
        buildings,
        functions=functions,
        speed_kmh=speed_kmh,
        max_minutes=max(thresholds),
    )
    table = cov.coverage_table(
        buildings,
        table_minutes,
        thresholds=thresholds,
        by=["grid_code", "community_code", "street_code"],
    )
    mask = cov.uncovered(table_minutes, function=function, within=minutes)
    gaps = cov.gap_areas(buildings[mask], buffer_m=GAP_BUFFER_M)
    return Coverage(table, buildings, table_minutes, function, float(minutes), mask, gaps)


@dataclass
class Suggestion:
    """Sites chosen for new stations and what they add."""

    sites: gpd.GeoDataFrame  # id, gain, cumulative, geometry (EPSG:4326)
    choice: cov.SiteChoice
    households: int
    covered_before: int
    candidates: int


def suggest(
    session: Session,
    *,
    k: int,
    minutes: float = 15.0,
    function: str = cov.ANY,
    candidates: gpd.GeoDataFrame | None = None,
    community: str | None = None,
    street: str | None = None,
    speed_kmh: float = 4.5,
) -> Suggestion:
    """Greedy maximal covering: `k` sites (from `candidates`, by default the area's buildings)
    covering the most households that have no `function` within `minutes` today."""
    check_function(function)
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    url = database_url(session)
    given = None if candidates is None else _digest(candidates)
    key = ("suggest", url, store.analysis_version(session), community, street, function,
           float(minutes), k, given, float(speed_kmh))  # fmt: skip
    if not store.area_exists(session, community=community, street=street):
        _area_buildings(session, community=community, street=street)  # its 404

    def job() -> Suggestion:  # a session of its own: it may outlive the request
        with session_factory(url)() as own:
            return _suggest(own, k, minutes, function, candidates, community, street, speed_kmh)

    return bounded(key, job)


def _digest(candidates: gpd.GeoDataFrame) -> str:
    """The candidates' ids and places, as a cache key."""
    ids = "\x1f".join(map(str, candidates["id"])).encode()
    return hashlib.sha256(ids + b"".join(shapely.to_wkb(candidates.geometry.array))).hexdigest()


def _suggest(
    session: Session,
    k: int,
    minutes: float,
    function: str,
    candidates: gpd.GeoDataFrame | None,
    community: str | None,
    street: str | None,
    speed_kmh: float,
) -> Suggestion:
    buildings = _area_buildings(session, community=community, street=street)
    net = get_network(session)
    stations = store.station_frame(session)
    functions = [] if function in (cov.ANY, cov.ALL) else [function]
    if function == cov.ALL:
        functions = list(cov.SIX_FUNCTIONS)
    now = cov.minutes_by_function(
        net, stations, buildings, functions=functions, speed_kmh=speed_kmh, max_minutes=minutes
    )
    mask = cov.uncovered(now, function=function, within=minutes)
    demand = buildings[mask]
    households = int(buildings["households"].sum())
    before = int(buildings.loc[~mask, "households"].sum())
    if candidates is None:
        candidates = buildings[["building_id", "geometry"]].rename(columns={"building_id": "id"})
    candidates = candidates.reset_index(drop=True)
    near = cov.near_enough(candidates, demand, minutes=minutes, speed_kmh=speed_kmh)
    pool = candidates[near].reset_index(drop=True)
    weights = demand["households"].to_numpy(dtype=float)
    if len(pool) and len(demand):
        if len(pool) <= len(demand):
            cover = reach_matrix(net, pool, demand, speed_kmh=speed_kmh, max_minutes=minutes)
        else:
            cover = reach_matrix(net, demand, pool, speed_kmh=speed_kmh, max_minutes=minutes).T
        choice = cov.greedy_max_cover(cover, weights, k=k)
    else:
        choice = cov.SiteChoice([], [], 0, 0, int(weights.sum()))
    sites = pool.iloc[choice.chosen].copy()
    sites["gain"] = choice.gains
    sites["cumulative"] = np.cumsum(choice.gains, dtype=int) if choice.gains else []
    return Suggestion(sites, choice, households, before, len(candidates))
