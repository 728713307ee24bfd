"""merge_grids: join neighbouring grids (or micro-grids of one grid) into one."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, require_crs
from geo.errors import InputError
from geo.grids.codes import reading_order
from geo.grids.edit.counts import _column
from geo.grids.edit.geometry import _geoms84, _to_metric
from geo.grids.edit.holdings import _entries
from geo.grids.edit.layer import _bounds_of, _Layer
from geo.grids.edit.messages import grid_name, refusal
from geo.grids.edit.prepare import _check_bounds, _metric_crs, _prepare_layer
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, polsby_popper
from geo.grids.graph import build_graph, components, shared_edges
from geo.grids.tessellation import polygonal


def merge_grids(
    grids: gpd.GeoDataFrame,
    codes: Iterable[str],
    *,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
) -> gpd.GeoDataFrame:
    """Join neighbouring grids (or micro-grids of one grid) into one with the lowest code.

    Households and members add up; the micro-grids of the grids joined move under the kept
    code (those of the kept grid keep their codes, the others take free sequence numbers in
    reading order).

    Raises
    ------
    InputError
        Fewer than two codes, unknown codes, mixed levels, micro-grids of different grids, or
        grids that do not share an edge ('not adjacent').
    """
    _check_bounds(grid_bounds, micro_bounds)
    require_crs(grids, name="grids")
    codes = list(dict.fromkeys(str(c) for c in codes))
    if len(codes) < 2:
        raise InputError(refusal("merge_two", codes=", ".join(codes)))
    crs = _metric_crs(grids, name="grids")
    layer = _prepare_layer(grids, crs)
    rows = np.array([layer.find(c) for c in codes], dtype=np.int64)
    levels = set(layer.level[rows])
    if len(levels) > 1:
        raise InputError(refusal("merge_levels", codes=", ".join(codes)))
    level = levels.pop()
    if level == "micro" and layer.top == "grid" and len(set(layer.parent[rows])) > 1:
        raise InputError(refusal("merge_parents"))
    i, j, _ = shared_edges(layer.geom[rows])
    label = components(build_graph(len(rows), i, j, np.ones(len(i)), np.ones(len(i))))
    if label.max() > 0:
        apart = [k for k in range(len(rows)) if label[k] != label[0]]
        zh = {k: grid_name(codes[k], level, layer.community_name(rows[k])) for k in [0, *apart]}
        msg = refusal(
            "merge_apart", apart="、".join(zh[k] for k in apart), first=zh[0],
            apart_en=", ".join(codes[k] for k in apart), first_en=codes[0],
        )  # fmt: skip
        raise InputError(msg)
    keep = int(rows[np.argmin(layer.code[rows])])
    others = [int(r) for r in rows if r != keep]

    frame = layer.frame.copy()
    geometry = frame.geometry.to_numpy().copy()
    geom84 = _geoms84(layer)
    geometry[keep] = polygonal(shapely.union_all(geom84[rows]))
    merged_m = _to_metric([geometry[keep]], crs)[0]
    stored = layer.stored_households()
    households = int(np.nansum(stored[rows]))
    members: dict[str, int] = {}
    parts: dict[str, list] = {}
    for r in rows:
        for building_id, share in _entries(layer.members([r])[0]):
            members[building_id] = members.get(building_id, 0) + share
        for entry in _column(frame, "parts", None)[r] or []:
            bid = str(entry[0])
            if bid in parts:
                parts[bid] = [bid, f"{parts[bid][1]}; {entry[1]}", parts[bid][2] + int(entry[2])]
            else:
                parts[bid] = [bid, entry[1], int(entry[2])]
    elsewhere = {
        bid
        for r in layer.rows(level)
        if r not in rows
        for bid, _ in _entries(layer.members([r])[0])
    }
    lo, hi = _bounds_of(level, grid_bounds, micro_bounds)
    values = {
        "households": households,
        "members": [[bid, s] for bid, s in members.items()],
        "parts": [p for bid, p in parts.items() if bid in elsewhere],
        "within_bounds": bool(lo <= households <= hi),
        "polsby_popper": float(polsby_popper(merged_m)),
        "reason": None if lo <= households <= hi else f"{households} households, outside {lo}–{hi}",
    }
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=WGS84))
    for column, value in values.items():
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        frame[column] = frame[column].astype(object)
        frame.at[keep, column] = value
    if level == "grid" and layer.top == "grid":
        _adopt_micro(frame, layer, keep, others)
    frame.index = layer.index
    out = frame.drop(index=layer.index[others])
    out["households"] = pd.to_numeric(out["households"])
    out["polsby_popper"] = pd.to_numeric(out["polsby_popper"])
    out["within_bounds"] = out["within_bounds"].astype(bool)
    return out


def _adopt_micro(frame: gpd.GeoDataFrame, layer: _Layer, keep: int, others: list[int]) -> None:
    """Move the micro-grids of `others` under `keep`, with free sequence numbers."""
    parent = layer.code[keep]
    micro = layer.rows("micro")
    own = micro[layer.parent[micro] == parent]
    taken = {int(layer.code[m][-3:]) for m in own if layer.code[m] and layer.code[m][-3:].isdigit()}
    adopted = micro[np.isin(layer.parent[micro], list(layer.code[others]))]
    if len(adopted) == 0:
        return
    xy = shapely.get_coordinates(shapely.centroid(layer.geom[adopted]))
    free = (n for n in range(1, 1000) if n not in taken)
    for k in reading_order(xy):
        number = next(free, None)
        if number is None:
            raise InputError(refusal("sequence_full", prefix=parent))
        m = int(adopted[k])
        frame.at[m, "code"] = f"{parent}{number:03d}"
        frame.at[m, "parent_code"] = parent
