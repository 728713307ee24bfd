"""The unified layer's rows and report: codes and measures, and what became of each candidate."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.grids.codes import sequence_codes
from geo.grids.generate import NO_PARENT, polsby_popper
from geo.grids.unify.candidates import _Candidate, _Kept
from geo.grids.unify.layers import _Layer, _nones
from geo.lookup import first_containing


def _kept_rows(kept, cands, layers, b, points, hh, level) -> list[dict]:
    owner = first_containing(points, [k.geom for k in kept])
    rows = []
    for i, k in enumerate(kept):
        c = cands[k.candidate]
        layer = layers[c.layer]
        members = np.flatnonzero(owner == i)
        agreeing = [cands[o] for o in sorted(c.agrees) if cands[o].decision == "agrees"]
        rows.append(
            {
                "level": level,
                "households": int(round(hh[members].sum())),
                "members": [[str(b["building_id"].iloc[m]), int(round(hh[m]))] for m in members],
                "parts": [],
                "geometry": k.geom,
                "origin": "kept",
                "source_layer": layer.name,
                "source_code": layer.ids[c.row],
                "agreeing": [
                    f"{layers[o.layer].name}:{layers[o.layer].ids[o.row]}" for o in agreeing
                ],
                "added_m2": round(k.added_m2, 1),
                "reason": None,
            }
        )
    return rows


def _finish_rows(rows: list[dict], bounds, prefix: str) -> None:
    """Bounds, compactness, reasons and codes (reading order within the area)."""
    lo, hi = bounds
    for row in rows:
        geom = row["geometry"]
        row.pop("_piece", None)
        row.pop("within_bounds_generated", None)
        row["within_bounds"] = lo <= row["households"] <= hi
        row["polsby_popper"] = float(polsby_popper(geom))
        if row["reason"] is None and not row["within_bounds"]:
            row["reason"] = f"{row['households']} households, outside {lo}–{hi}"
        row["parent_code"] = None
        row["area_code"] = prefix
    if rows:
        xy = np.array([[r["geometry"].centroid.x, r["geometry"].centroid.y] for r in rows])
        # micro-grids without grids above them: grid sequence 000, as generate_grids does
        top = prefix + NO_PARENT if rows[0]["level"] == "micro" else prefix
        for row, code in zip(rows, sequence_codes(top, xy), strict=True):
            row["code"] = code


def _decide(cands: list[_Candidate], kept: list[_Kept], given_up: set[int], layers) -> None:
    """What became of each candidate, and why."""
    by_candidate = {k.candidate: k for k in kept}
    for i, c in enumerate(cands):
        clipped = (
            f"; clipped to the boundary ({c.inside:.0%} of it inside)" if c.inside < 0.99 else ""
        )
        if i in by_candidate:
            k = by_candidate[i]
            c.decision = "kept"
            c.note = (
                f"took over {k.added_m2:,.0f} m² of land left over"
                f" ({k.added_households} households)"
                if k.added_m2 >= 1.0
                else None
            )
        elif same := sorted(o for o in c.agrees if o in by_candidate):
            c.decision = "agrees"
            c.note = f"the same grid as kept {_ref(cands[same[0]], layers)}"
        elif c.reason is not None:
            c.decision, c.note = "rejected", c.reason
        elif i in given_up:
            c.decision = "released"
            c.note = "given up so that the land around it could be divided within bounds"
        elif hits := sorted(o for o in c.overlaps if o in by_candidate):
            c.decision = "rejected"
            c.note = f"overlaps kept {_ref(cands[hits[0]], layers)}"
        else:
            c.decision, c.note = "rejected", "left out"
        if clipped:
            c.note = (c.note or c.decision) + clipped


def _ref(c: _Candidate, layers: list[_Layer]) -> str:
    return layers[c.layer].ref(c.row)


_GRID_COLUMNS = [
    "code", "level", "parent_code", "households", "members", "parts", "within_bounds",
    "polsby_popper", "reason", "area_code", "origin", "source_layer", "source_code",
    "agreeing", "added_m2",
]  # fmt: skip


def _grid_frame(rows: list[dict], crs) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame(
            {c: [] for c in _GRID_COLUMNS}, geometry=gpd.GeoSeries([], crs=crs), crs=crs
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)[[*_GRID_COLUMNS, "geometry"]]
    _nones(frame, ["parent_code", "reason", "source_layer", "source_code"])
    return frame


def _unify_report(
    frame, decisions, layers, areas, tol, *, level, grid_bounds, micro_bounds, bounds
):
    per_layer = {}
    for layer in layers:
        mine = [d for d in decisions if d["layer"] == layer.name]
        per_layer[layer.name] = {
            "id_column": layer.id_label,
            "grids": len(layer.geoms),
            "candidates": len(mine),
            **{
                k: sum(d["decision"] == k for d in mine)
                for k in ("kept", "agrees", "rejected", "released")
            },
        }
    n = len(frame)
    kept = int((frame["origin"] == "kept").sum()) if n else 0
    top = "micro" if level == "micro" else "grid"
    report = {
        "level": level,
        "bounds": {"grid": list(grid_bounds), "micro": list(micro_bounds)},
        "tolerance_m": tol,
        "layers": per_layer,
        "kept": kept,
        "new": n - kept,
        "kept_share": kept / n if n else 0.0,
        **_boundary_shares(frame, layers, areas, tol),
        "candidates": decisions,
    }
    report[top] = _level_summary(frame, bounds)
    return report


def _level_summary(frame: gpd.GeoDataFrame, bounds) -> dict:
    n = len(frame)
    return {
        "count": int(n),
        "within_bounds": int(frame["within_bounds"].sum()) if n else 0,
        "bounds": list(bounds),
        "households_min": int(frame["households"].min()) if n else 0,
        "households_max": int(frame["households"].max()) if n else 0,
        "polsby_popper_mean": float(frame["polsby_popper"].mean()) if n else 0.0,
        "not_contiguous": int((frame.geom_type != "Polygon").sum()) if n else 0,
        "infeasible": [
            {"code": c, "households": int(h), "reason": r}
            for c, h, r in zip(frame["code"], frame["households"], frame["reason"], strict=True)
            if isinstance(r, str)
        ],
    }


def _boundary_shares(frame, layers, areas, tol) -> dict:
    """How much of the unified boundaries lies on boundaries some department already drew."""
    if len(frame) == 0:
        return {"boundary_length_m": 0.0, "boundary_share": 0.0, "internal_boundary_share": 0.0}
    lines = shapely.union_all(shapely.boundary(frame.geometry.to_numpy()))
    original = [shapely.boundary(g) for layer in layers for g in layer.geoms if not g.is_empty]
    near = (
        shapely.buffer(shapely.union_all(original), max(tol, 0.01))
        if original
        else shapely.Polygon()
    )
    outline = shapely.buffer(
        shapely.union_all([shapely.boundary(a) for a in areas]), max(tol, 0.01)
    )
    internal = shapely.difference(lines, outline)
    total, inner = lines.length, internal.length
    return {
        "boundary_length_m": round(total, 1),
        "boundary_share": shapely.intersection(lines, near).length / total if total else 0.0,
        "internal_boundary_share": (
            shapely.intersection(internal, near).length / inner if inner else 1.0
        ),
    }
