"""recount: households, members and shape measures of grids brought up to date."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import require_crs
from geo.grids.edit.holdings import _entries, _holdings, _member_lists
from geo.grids.edit.layer import LEVELS, _bounds_of, _Buildings, _Layer
from geo.grids.edit.prepare import _check_bounds, _metric_crs, _prepare_buildings, _prepare_layer
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, polsby_popper


def recount(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """Recompute households and members of every grid from the buildings inside it.

    A building counts in the grid that contains its representative point; a split recorded in
    `members` is kept while every grid named still overlaps the footprint (see the module
    docstring). `within_bounds`, `polsby_popper`, `reason` and the `parts` of split buildings
    are brought up to date as well.

    Parameters
    ----------
    grids : GeoDataFrame
        EPSG:4326 layer with `code` (and `level`, `members` where known).
    buildings : GeoDataFrame
        EPSG:4326 buildings with `building_id` and `households`.
    grid_bounds, micro_bounds : (int, int)
        Households per grid and per micro-grid, for `within_bounds`.
    tolerance_m : float
        Overlap with a footprint (squared) below which a recorded split no longer holds.

    Returns
    -------
    GeoDataFrame
        A new frame with the same rows and index.
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    if len(grids) == 0:
        return grids.copy()
    crs = _metric_crs(grids, name="grids")
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
    every = np.arange(len(layer.code))
    updated = _recounted(layer, b, every, grid_bounds, micro_bounds, tol=tolerance_m)
    updated.index = grids.index
    return updated


def _recounted(
    layer: _Layer,
    b: _Buildings,
    rows: np.ndarray,
    grid_bounds,
    micro_bounds,
    *,
    tol: float,
    force: dict[str, dict[int, list[tuple[int, int]]]] | None = None,
    spread: bool = False,
) -> gpd.GeoDataFrame:
    """A copy of the layer with counts, members and shape measures redone for `rows`.

    With `spread`, also for other rows whose members change because of the buildings of
    `rows` (a split that no longer holds sends a building back to the grid with its point).
    """
    frame = layer.frame.copy()
    n = len(frame)
    households = _column(frame, "households", 0)
    members = _column(frame, "members", None)
    parts = _column(frame, "parts", None)
    within = _column(frame, "within_bounds", None)
    polsby = _column(frame, "polsby_popper", None)
    reason = _column(frame, "reason", None)
    todo = np.zeros(n, dtype=bool)
    todo[rows] = True
    for level in LEVELS:
        level_rows = layer.rows(level)
        if len(level_rows) == 0 or not todo[level_rows].any():
            continue
        hold = _holdings(
            layer.geom[level_rows],
            layer.members(level_rows),
            b,
            tol=tol,
            force=(force or {}).get(level),
        )
        counts = hold.households(len(level_rows))
        lists = _member_lists(hold, len(level_rows), b)
        if spread:
            _spread(todo, level_rows, members, lists, force=(force or {}).get(level), b=b)
        lo, hi = _bounds_of(level, grid_bounds, micro_bounds)
        for k, i in enumerate(level_rows):
            if not todo[i]:
                continue
            h = int(counts[k])
            old = households[i]
            households[i] = h
            members[i] = lists[k]
            parts[i] = _kept_parts(parts[i], lists[k], hold.split, b)
            within[i] = bool(lo <= h <= hi)
            reason[i] = _reason(h, lo, hi, reason[i], old)
            polsby[i] = float(polsby_popper(layer.geom[i]))
    frame["households"] = pd.array(households, dtype="int64")
    frame["members"] = pd.Series(members, index=frame.index, dtype=object)
    frame["parts"] = pd.Series(
        [p if p is not None else [] for p in parts], index=frame.index, dtype=object
    )
    frame["within_bounds"] = pd.Series(within, index=frame.index, dtype=object).astype(bool)
    frame["polsby_popper"] = pd.to_numeric(pd.Series(polsby, index=frame.index))
    frame["reason"] = pd.Series(reason, index=frame.index, dtype=object)
    return frame


def _spread(todo, level_rows, stored, lists, *, force, b: _Buildings) -> None:
    """Mark rows whose members change through the buildings of rows already marked."""
    old = [{bid for bid, _ in _entries(stored[i])} for i in level_rows]
    now = [{m[0] for m in members} for members in lists]
    touched = {str(b.ids[bi]) for bi in (force or {})}
    for k, i in enumerate(level_rows):
        if todo[i]:
            touched |= old[k] | now[k]
    for k, i in enumerate(level_rows):
        if todo[i] or not (old[k] | now[k]) & touched:
            continue
        if sorted(map(tuple, _entries(stored[i]))) != sorted(map(tuple, lists[k])):
            todo[i] = True


def _column(frame: pd.DataFrame, name: str, default) -> list:
    if name not in frame.columns:
        return [default] * len(frame)
    values = frame[name].tolist()
    if name == "households":
        return [int(v) if v is not None and not pd.isna(v) else 0 for v in values]
    return values


def _kept_parts(old, members: list, split: np.ndarray, b: _Buildings) -> list:
    """Entries of `parts` for buildings still split into this grid with the same share."""
    if old is None or (isinstance(old, float) and math.isnan(old)):
        return []
    share = {bid: s for bid, s in members}
    kept = []
    for entry in old:
        try:
            building_id, _, households = entry[0], entry[1], int(entry[2])
        except (TypeError, ValueError, IndexError):
            continue
        bi = b.index.get(str(building_id))
        if bi is not None and split[bi] and share.get(str(building_id)) == households:
            kept.append(list(entry))
    return kept


def _reason(h: int, lo: int, hi: int, old_reason, old_h) -> str | None:
    if lo <= h <= hi:
        return None
    if isinstance(old_reason, str) and old_h == h:
        return old_reason
    return f"{h} households, outside {lo}–{hi}"
