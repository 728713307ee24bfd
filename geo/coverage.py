"""Service coverage of households by walking time, gap areas, and new-site suggestions.

Pure functions over walking minutes already computed (geo.network.walking_minutes or
reach_matrix); nothing here walks a network, so the logic is tested on hand-made numbers.

Two overall measures sit beside the per-function ones:

- ``any``: a station of any kind within the time;
- ``all``: every one of the six functions of the 1+6+X model within the time, not
  necessarily at the same station (the full 15-minute service circle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geo.crs import require_crs, utm_crs
from geo.errors import InputError
from geo.network import WalkNetwork, metres_per_minute, walking_minutes

SIX_FUNCTIONS = ("childcare", "elderly_care", "health", "food", "leisure", "services")
ANY, ALL = "any", "all"
THRESHOLDS = (5.0, 10.0, 15.0)

__all__ = [
    "ALL",
    "ANY",
    "SIX_FUNCTIONS",
    "THRESHOLDS",
    "SiteChoice",
    "coverage_table",
    "covered_by",
    "cut",
    "function_minutes",
    "gap_areas",
    "greedy_max_cover",
    "minutes_by_function",
    "near_enough",
    "uncovered",
]


def function_minutes(
    station_minutes: sp.spmatrix | np.ndarray,
    station_functions: Sequence[Sequence[str]],
    *,
    functions: Sequence[str] = SIX_FUNCTIONS,
) -> pd.DataFrame:
    """Minutes from each building to the nearest station offering each function.

    Parameters
    ----------
    station_minutes : sparse matrix or array, stations × buildings
        Walking minutes (a reach matrix: stored entries only, absent = out of reach;
        a dense array uses ``np.inf`` for out of reach).
    station_functions : list of lists
        The functions each station (row) offers.
    functions : sequence of str
        The function columns to build; ``any`` and ``all`` are added.

    Returns
    -------
    DataFrame
        One row per building (column of the matrix), one column per function plus ``any``
        and ``all`` (the largest of the six: when the last of them is reached); ``np.inf``
        where out of reach.
    """
    n_stations = station_minutes.shape[0]
    if len(station_functions) != n_stations:
        msg = f"{len(station_functions)} function lists for {n_stations} stations (rows)"
        raise InputError(msg)
    n_buildings = station_minutes.shape[1]
    if sp.issparse(station_minutes):
        coo = sp.coo_matrix(station_minutes)
        rows, cols, vals = coo.row, coo.col, coo.data.astype(float)
    else:
        dense = np.asarray(station_minutes, dtype=float)
        rows, cols = np.nonzero(np.isfinite(dense))
        vals = dense[rows, cols]
    out = {}
    offered = [set(f or ()) for f in station_functions]
    for name in (*functions, ANY):
        mask = np.array([name == ANY or name in f for f in offered], dtype=bool)
        best = np.full(n_buildings, np.inf)
        keep = mask[rows] if n_stations else np.zeros(0, dtype=bool)
        np.minimum.at(best, cols[keep], vals[keep])
        out[name] = best
    frame = pd.DataFrame(out)
    six = [f for f in SIX_FUNCTIONS if f in frame.columns]
    frame[ALL] = frame[six].max(axis=1) if len(six) == len(SIX_FUNCTIONS) else np.inf
    return frame


def coverage_table(
    buildings: pd.DataFrame,
    minutes: pd.DataFrame,
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    by: Sequence[str] = (),
    households: str = "households",
) -> pd.DataFrame:
    """Households within each time of each function, in total and per group.

    Parameters
    ----------
    buildings : DataFrame
        One row per building with a `households` column and the grouping columns of `by`
        (e.g. grid_code, community_code, street_code; None/NaN rows form no group).
    minutes : DataFrame
        Same length and order as `buildings`; one column per function (see function_minutes).
    thresholds : sequence of float
        Minute values.
    by : sequence of str
        Grouping columns; each gives its own rows (``level`` = the column, ``code`` = the value).
        The whole area is always included (``level`` "total", ``code`` None).

    Returns
    -------
    DataFrame
        Columns level, code, function, minutes, households, covered, share, buildings,
        uncovered_buildings. ``share`` is covered / households (NaN where there are none).
    """
    if len(buildings) != len(minutes):
        msg = f"{len(buildings)} buildings but {len(minutes)} rows of minutes"
        raise InputError(msg)
    if households not in buildings.columns:
        msg = f"buildings need a {households!r} column (got {list(buildings.columns)})"
        raise InputError(msg)
    hh = buildings[households].fillna(0).to_numpy(dtype=float)
    levels = [("total", pd.Series(["" for _ in range(len(buildings))], index=buildings.index))]
    for column in by:
        if column not in buildings.columns:
            msg = f"no grouping column {column!r} in buildings"
            raise InputError(msg)
        levels.append((column, buildings[column]))
    parts = []
    for function in minutes.columns:
        values = minutes[function].to_numpy(dtype=float)
        for t in thresholds:
            inside = values <= t
            frame = pd.DataFrame(
                {
                    "households": hh,
                    "covered": np.where(inside, hh, 0.0),
                    "buildings": 1,
                    "uncovered_buildings": (~inside).astype(int),
                }
            )
            for level, keys in levels:
                keys = keys.reset_index(drop=True)
                valid = keys.notna().to_numpy()
                grouped = frame[valid].groupby(keys[valid].astype(str).to_numpy()).sum()
                grouped = grouped.rename_axis("code").reset_index()
                grouped.insert(0, "level", level)
                grouped.insert(2, "function", function)
                grouped.insert(3, "minutes", float(t))
                parts.append(grouped)
    if not parts:
        columns = ["level", "code", "function", "minutes", "households", "covered"]
        return pd.DataFrame(columns=[*columns, "share", "buildings", "uncovered_buildings"])
    table = pd.concat(parts, ignore_index=True)
    table.loc[table["level"] == "total", "code"] = None
    table["households"] = table["households"].astype(int)
    table["covered"] = table["covered"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = np.where(
            table["households"] > 0, table["covered"] / table["households"], np.nan
        )
    return table


def uncovered(minutes: pd.DataFrame, *, function: str = ANY, within: float = 15.0) -> np.ndarray:
    """Boolean mask of buildings with no station offering `function` within `within` minutes."""
    if function not in minutes.columns:
        msg = f"unknown function {function!r}: expected one of {', '.join(minutes.columns)}"
        raise InputError(msg)
    return ~(minutes[function].to_numpy(dtype=float) <= within)


def gap_areas(
    buildings: gpd.GeoDataFrame,
    *,
    buffer_m: float = 30.0,
    households: str = "households",
) -> gpd.GeoDataFrame:
    """The gap layer: uncovered buildings grown by `buffer_m` metres and dissolved.

    Each connected piece is one feature with the households and buildings inside it; pass only
    the uncovered buildings (see uncovered). Measured in the UTM zone, returned in EPSG:4326.
    """
    require_crs(buildings, name="buildings")
    columns = ["households", "buildings", "geometry"]
    if buildings.empty:
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=4326)
    utm = utm_crs(buildings)
    metric = buildings.to_crs(utm)
    merged = shapely.union_all(shapely.buffer(metric.geometry.to_numpy(), buffer_m))
    pieces = gpd.GeoDataFrame(geometry=list(shapely.get_parts(merged)), crs=utm)
    points = gpd.GeoDataFrame(
        {"households": metric[households].fillna(0).to_numpy(dtype=int)},
        geometry=shapely.point_on_surface(metric.geometry.to_numpy()),
        crs=utm,
    )
    joined = gpd.sjoin(points, pieces, predicate="within", how="inner")
    sums = joined.groupby("index_right")["households"].agg(["sum", "size"])
    pieces["households"] = sums["sum"].reindex(pieces.index).fillna(0).astype(int)
    pieces["buildings"] = sums["size"].reindex(pieces.index).fillna(0).astype(int)
    pieces = pieces.sort_values("households", ascending=False, kind="stable")
    return pieces[columns].to_crs(4326).reset_index(drop=True)


@dataclass(frozen=True)
class SiteChoice:
    """Sites picked by greedy maximal covering.

    ``chosen``: candidate indices in order of choice; ``gains``: households each one newly
    covers; ``covered``: their sum; ``upper_bound``: no k sites can cover more than this
    (the smallest, over the steps, of what was covered plus the k best marginal gains then:
    the greedy's covered ≥ (1 − (1 − 1/k)^k) ≥ 1 − 1/e ≈ 63.2 % of the optimum, and usually
    much closer, which this bound shows per run).
    """

    chosen: list[int]
    gains: list[int]
    covered: int
    upper_bound: int
    demand: int

    @property
    def guarantee(self) -> float:
        """The worst-case ratio of greedy to optimum for k = len(chosen) picks."""
        k = max(len(self.chosen), 1)
        return 1 - (1 - 1 / k) ** k


def greedy_max_cover(
    cover: sp.spmatrix | np.ndarray,
    weights: np.ndarray | Sequence[float],
    *,
    k: int,
) -> SiteChoice:
    """Pick up to `k` candidates (rows) covering the most weight of demand points (columns).

    Parameters
    ----------
    cover : sparse matrix or array, candidates × demand
        Non-zero where a candidate covers a demand point (e.g. a reach matrix cut at the
        minutes wanted; explicit zeros — a candidate standing on the building — count too).
    weights : array
        Households per demand point.
    k : int
        How many sites to pick; fewer when nothing more can be gained.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]])
    >>> greedy_max_cover(c, [10, 1, 5], k=1).chosen
    [0]
    """
    if k < 1:
        msg = f"k must be at least 1 (got {k})"
        raise InputError(msg)
    w = np.asarray(weights, dtype=float)
    if sp.issparse(cover):
        coo = sp.coo_matrix(cover)  # stored entries count, explicit zeros too
        matrix = sp.csr_matrix((np.ones(len(coo.data)), (coo.row, coo.col)), shape=cover.shape)
        matrix.data[:] = 1.0  # duplicates were summed
    else:
        matrix = sp.csr_matrix((np.asarray(cover) != 0).astype(float))
    if matrix.shape[1] != len(w):
        msg = f"{matrix.shape[1]} demand columns but {len(w)} weights"
        raise InputError(msg)
    remaining = w.copy()
    chosen, gains = [], []
    covered = 0.0
    bound = float(w.sum())
    for _ in range(k):
        gain = matrix @ remaining
        if len(gain) == 0:
            break
        top = np.sort(gain)[::-1][:k]
        bound = min(bound, covered + float(top.sum()))
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen.append(best)
        gains.append(int(round(gain[best])))
        covered += gain[best]
        remaining[matrix.indices[matrix.indptr[best] : matrix.indptr[best + 1]]] = 0.0
    return SiteChoice(
        chosen=chosen,
        gains=gains,
        covered=int(round(covered)),
        upper_bound=int(round(max(bound, covered))),
        demand=int(round(w.sum())),
    )


def covered_by(cover: sp.spmatrix, chosen: Sequence[int]) -> np.ndarray:
    """Mask of demand points covered by the `chosen` rows of a cover matrix."""
    rows = sp.csr_matrix(cover)[list(chosen)]
    mask = np.zeros(cover.shape[1], dtype=bool)
    mask[rows.indices] = True
    return mask


def cut(reach: sp.spmatrix, *, within: float) -> sp.csr_matrix:
    """A boolean cover matrix: stored entries of `reach` (minutes) at most `within`."""
    coo = sp.coo_matrix(reach)
    keep = coo.data <= within
    return sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=bool), (coo.row[keep], coo.col[keep])), shape=reach.shape
    )


def minutes_by_function(
    net: WalkNetwork,
    stations: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    functions: Sequence[str] = SIX_FUNCTIONS,
    speed_kmh: float = 4.5,
    max_minutes: float = 15.0,
) -> pd.DataFrame:
    """Walking minutes from each building to the nearest station offering each function.

    One multi-source search per function on `net` (stations' ``functions`` column holds
    lists of codes). Columns: `functions`, ``any`` and ``all`` (see function_minutes);
    np.inf beyond `max_minutes`.
    """
    offered = [
        set(f) if isinstance(f, list | tuple | np.ndarray) else set()
        for f in stations.get("functions", pd.Series([None] * len(stations), index=stations.index))
    ]
    out = {}
    for name in (*functions, ANY):
        mask = np.array([name == ANY or name in f for f in offered], dtype=bool)
        if not mask.any() or buildings.empty:
            out[name] = np.full(len(buildings), np.inf)
            continue
        out[name] = walking_minutes(
            net, stations[mask], buildings, speed_kmh=speed_kmh, max_minutes=max_minutes
        )
    frame = pd.DataFrame(out, index=buildings.index)
    six = [f for f in SIX_FUNCTIONS if f in frame.columns]
    frame[ALL] = frame[six].max(axis=1) if len(six) == len(SIX_FUNCTIONS) else np.inf
    return frame


def near_enough(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    minutes: float,
    speed_kmh: float = 4.5,
) -> np.ndarray:
    """Mask of candidates within `minutes` of straight-line walking of some demand point.

    A walk is never shorter than the straight line, so the others cannot cover anything.
    """
    if candidates.empty or demand.empty:
        return np.zeros(len(candidates), dtype=bool)
    utm = utm_crs(demand)
    reach_m = minutes * metres_per_minute(speed_kmh)
    c = shapely.point_on_surface(candidates.to_crs(utm).geometry.to_numpy())
    d = shapely.point_on_surface(demand.to_crs(utm).geometry.to_numpy())
    hits = shapely.STRtree(d).query(c, predicate="dwithin", distance=reach_m)[0]
    mask = np.zeros(len(candidates), dtype=bool)
    mask[hits] = True
    return mask
