"""Comparing two grid layers of one community: per-grid household deltas, buildings that
changed grid, and where boundaries moved.

The layers compared are stored versions, the current layer, a draft the planner sent, or a
regenerated alternative that is not saved. Grids are matched by code; buildings by the
`members` of the top level (grids, or micro-grids in a layer without grids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.grids import edits
from api.storage import grids as store
from geo.errors import InputError
from geo.grids.edit import messages

DELTA_KEYS = ("code", "level", "name", "households_a", "households_b", "delta", "change")
MIN_CHANGE_M2 = 1.0  # boundary changes smaller than this are rounding, not edits


@dataclass
class Comparison:
    """Two layers of a community and how they differ.

    `grids`: one dict per code in either layer (code, level, name, households_a, households_b,
    delta, change: added, removed, changed or same). `moved`: one row per building that changed
    grid (building_id, title, households, from_code, to_code, from_name, to_name, geometry: its
    point). `boundaries`: one row per grid whose polygon changed (code, level, name,
    gained_m2, lost_m2, geometry: the symmetric difference).
    """

    community: str
    a: gpd.GeoDataFrame
    b: gpd.GeoDataFrame
    grids: list[dict]
    moved: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame


def grid_name(community_name: str, code: str) -> str:
    """The name people use: 社区 + 第N网格 (+ 第M微网格 for a micro-grid)."""
    return messages.grid_name(code, "micro" if len(code) == 18 else "grid", community_name)


def _top(layer: gpd.GeoDataFrame) -> str:
    return "grid" if (layer["level"] == "grid").any() else "micro"


def _owners(layer: gpd.GeoDataFrame) -> dict[str, str]:
    """building id → code of the top-level grid holding most of its households."""
    best: dict[str, tuple[int, str]] = {}
    top = layer[layer["level"] == _top(layer)] if len(layer) else layer
    for code, members in zip(top["code"], top["members"], strict=True):
        for building, households in members or []:
            share = int(households)
            if str(building) not in best or share > best[str(building)][0]:
                best[str(building)] = (share, code)
    return {b: code for b, (_, code) in best.items()}


def compare_layers(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    community: str,
    community_name: str,
) -> Comparison:
    """How layer `b` differs from layer `a` (both EPSG:4326, both levels)."""
    if a.crs is None or b.crs is None or not (a.crs == b.crs == buildings.crs):
        msg = f"layers and buildings must share one CRS, got {a.crs}, {b.crs}, {buildings.crs}"
        raise InputError(msg)
    name = lambda code: grid_name(community_name, code)  # noqa: E731
    old = a.drop_duplicates("code").set_index("code")
    new = b.drop_duplicates("code").set_index("code")
    boundaries = _boundaries(old, new, a.crs, name)
    redrawn = set(boundaries["code"])  # land changed by more than rounding
    rows = []
    for code in sorted(set(old.index) | set(new.index)):
        ha = int(old.at[code, "households"]) if code in old.index else None
        hb = int(new.at[code, "households"]) if code in new.index else None
        level = (new if code in new.index else old).at[code, "level"]
        if ha is None or hb is None:
            change = "added" if ha is None else "removed"
        else:
            change = "same" if code not in redrawn and ha == hb else "changed"
        delta = (hb or 0) - (ha or 0)
        values = (code, level, name(code), ha, hb, delta, change)
        rows.append(dict(zip(DELTA_KEYS, values, strict=True)))
    return Comparison(community, a, b, rows, _moved(a, b, buildings, name), boundaries)


def _moved(a, b, buildings, name) -> gpd.GeoDataFrame:
    before, after = _owners(a), _owners(b)
    points = buildings.drop_duplicates("building_id").set_index("building_id")
    rows, geoms = [], []
    for building in sorted(set(before) & set(after)):
        if before[building] == after[building]:
            continue
        known = building in points.index
        households = int(points.at[building, "households"]) if known else 0
        title = points.at[building, "title"] if known and "title" in points.columns else None
        rows.append(
            {
                "building_id": building,
                "title": title if isinstance(title, str) and title else building,
                "households": households,
                "from_code": before[building],
                "to_code": after[building],
                "from_name": name(before[building]),
                "to_name": name(after[building]),
            }
        )
        where = points.at[building, "geometry"] if building in points.index else None
        geoms.append(None if where is None else shapely.point_on_surface(where))
    columns = ["building_id", "title", "households", "from_code", "to_code", "from_name", "to_name"]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=buildings.crs))


def _boundaries(old: pd.DataFrame, new: pd.DataFrame, crs, name) -> gpd.GeoDataFrame:
    codes = sorted(set(old.index) & set(new.index))
    before = gpd.GeoSeries([old.at[c, "geometry"] for c in codes], crs=crs)
    after = gpd.GeoSeries([new.at[c, "geometry"] for c in codes], crs=crs)
    columns = ["code", "level", "name", "gained_m2", "lost_m2"]
    if not codes:
        return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry=gpd.GeoSeries(crs=crs))
    metric = before.estimate_utm_crs()
    gained = after.to_crs(metric).difference(before.to_crs(metric), align=False).area
    lost = before.to_crs(metric).difference(after.to_crs(metric), align=False).area
    changed = ((gained + lost) >= MIN_CHANGE_M2).to_numpy()
    rows = [
        {
            "code": c,
            "level": new.at[c, "level"],
            "name": name(c),
            "gained_m2": round(float(g), 1),
            "lost_m2": round(float(lo), 1),
        }
        for c, g, lo, keep in zip(codes, gained, lost, changed, strict=True)
        if keep
    ]
    where = before[changed].symmetric_difference(after[changed], align=False)
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry=where.reset_index(drop=True), crs=crs
    )


# -- layers from the database -----------------------------------------------------------------


def version_layer(session: Session, area: store.Area, version: int | None) -> gpd.GeoDataFrame:
    """`area`'s layer of version `version` (1 = first), the current one when None."""
    if version is None:
        return store.read_layer(session, area)
    versions = store.layer_versions(session, area)
    if not 1 <= version <= len(versions):
        msg = (
            f"社区 {area.code} 没有第 {version} 版网格 (community {area.code} has "
            f"{len(versions)} layer version(s), not version {version})"
        )
        raise NotFoundError(msg)
    return store.read_layer(session, area, written_at=versions[version - 1].valid_from)


def community_area(session: Session, community: str) -> store.Area:
    (area,) = store.select_communities(session, community=[community])
    return area


def compare(
    session: Session,
    community: str,
    *,
    a: int | None = None,
    b: int | None = None,
    features: Sequence[dict] | None = None,
    regenerate: bool = False,
) -> Comparison:
    """Version `a` (current when None) against version `b`, or against the draft `features`,
    or against a regenerated alternative (not saved) when `regenerate`."""
    area = community_area(session, community)
    first = version_layer(session, area, a)
    if features is not None:
        second = edits.validate(session, community, features).layer
    elif regenerate:
        second = edits.regenerate(session, community, save=False).layer
    else:
        second = version_layer(session, area, b)
    if first.empty and second.empty:
        msg = f"社区 {community} 还没有网格 (community {community} has no grids yet)"
        raise NotFoundError(msg)
    buildings = store.read_buildings(session, area)
    return compare_layers(
        first, second, buildings, community=community, community_name=area.name or community
    )
