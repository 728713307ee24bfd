"""Words for where a sample report is: a building's name or address, else the named place or
road nearest to it (南京图书馆东侧, 珠江路旁), else its community."""

from __future__ import annotations

import math

import geopandas as gpd
import shapely
from shapely.ops import nearest_points
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.storage import models

#: How far a named place or road may be to describe a spot near it, in metres.
NEAR_M = 150.0
#: Compass words, counter-clockwise from east, for the side of a place a spot lies on.
SIDES = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
CJK = r"[\u4e00-\u9fff]"


def side(origin: shapely.Point, spot: shapely.Point) -> str:
    """On which side of `origin` the `spot` lies (projected coordinates): 东, 东北 …"""
    angle = math.degrees(math.atan2(spot.y - origin.y, spot.x - origin.x)) % 360
    return SIDES[round(angle / 45) % 8]


def _frame(session: Session, query, columns: list[str]) -> gpd.GeoDataFrame:
    rows = session.execute(query).all()
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    geoms = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=models.SRID)


def report_places(session: Session) -> gpd.GeoDataFrame:
    """Buildings with households inside a community: building_id, label (name or address, else
    None), at (a spot outdoors there), building (it in words), geometry (its location)."""
    B, C, P, R = models.Building, models.Community, models.Poi, models.Road
    buildings = _frame(
        session,
        select(B.building_id, B.name, B.address, C.name, func.ST_AsBinary(B.location))
        .join(C, C.id == B.community_id)
        .where(B.households > 0)
        .order_by(B.id),
        ["building_id", "name", "address", "community"],
    )
    if buildings.empty:
        return buildings.assign(label=[], at=[], building=[])
    named = _frame(
        session,
        select(P.name, func.ST_AsBinary(P.geom)).where(P.name.is_not(None)),
        ["ref"],
    )
    landmarks = _frame(
        session,
        select(B.name, func.ST_AsBinary(B.location)).where(B.name.is_not(None)),
        ["ref"],
    )
    roads = _frame(
        session, select(R.name, func.ST_AsBinary(R.geom)).where(R.name.is_not(None)), ["road"]
    )
    utm = buildings.estimate_utm_crs()
    spots = buildings.to_crs(utm)
    refs = gpd.GeoDataFrame(
        {"ref": [*named["ref"], *landmarks["ref"]]},
        geometry=[*named.geometry, *landmarks.geometry],
        crs=models.SRID,
    ).to_crs(utm)
    refs = refs[refs["ref"].str.contains(CJK)]  # 南京图书馆, not KFC: the texts are Chinese
    near = _nearest(spots, refs.reset_index(drop=True), "ref")
    road = _nearest(spots, roads.to_crs(utm), "road")
    labels, ats, words = [], [], []
    for i, row in enumerate(spots.itertuples(index=False)):
        label = _text(row.name) or _text(row.address)
        if label:
            at, building = f"{label}门前", label
        elif near[i] is not None:
            ref, point = near[i]
            where = f"{ref}{side(point, row.geometry)}侧"
            at, building = where, f"{where}楼栋"
        elif road[i] is not None:
            at, building = f"{road[i][0]}旁", f"{road[i][0]}旁楼栋"
        else:
            community = row.community.removesuffix("居委会").removesuffix("居民委员会")
            at, building = f"{community}内", f"{community}内一处楼栋"
        labels.append(label)
        ats.append(at)
        words.append(building)
    return buildings.assign(label=labels, at=ats, building=words)


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _nearest(spots: gpd.GeoDataFrame, refs: gpd.GeoDataFrame, column: str) -> list:
    """Per spot: (name, the named thing's nearest point) within NEAR_M, or None."""
    if refs.empty:
        return [None] * len(spots)
    joined = gpd.sjoin_nearest(spots[["geometry"]], refs, max_distance=NEAR_M, how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = []
    for spot, (name, j) in zip(
        spots.geometry, zip(joined[column], joined["index_right"], strict=True), strict=True
    ):
        if not isinstance(name, str):
            out.append(None)
            continue
        ref = refs.geometry.iloc[int(j)]
        out.append((name, nearest_points(ref, spot)[0]))
    return out
