"""Read queries for the map pages: areas, the current grid layer, buildings, barrier roads,
workers per grid, public station data. They never commit."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import shapely
from sqlalchemy import Float, Select, func, select
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.storage import models
from geo.grids.generate import BARRIER_CLASSES

G, B, C, S = models.Grid, models.Building, models.Community, models.Street


def _frame(rows: Sequence, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """rows of (*columns, wkb) → GeoDataFrame in EPSG:4326."""
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    geoms = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=models.SRID)


def areas(session: Session) -> list[dict]:
    """Every community with its street office: code, name, street_code, street_name and
    boundary_source ('official' or 'approximate')."""
    query = (
        select(C.code, C.name, S.code, S.name, C.boundary_source)
        .outerjoin(S, S.id == C.street_id)
        .where(C.geom.is_not(None))
        .order_by(S.code, C.code)
    )
    return [
        {"code": c, "name": n, "street_code": sc, "street_name": sn, "boundary_source": bs}
        for c, n, sc, sn, bs in session.execute(query)
    ]


def outlines(session: Session, communities: Sequence[str]) -> gpd.GeoDataFrame:
    """The communities' polygons: code, name, street_code, street_name, boundary_source (and
    street_boundary_source, the street office's)."""
    columns = ["code", "name", "street_code", "street_name", "boundary_source",
               "street_boundary_source"]  # fmt: skip
    query = (
        select(
            C.code,
            C.name,
            S.code,
            S.name,
            C.boundary_source,
            S.boundary_source,
            func.ST_AsBinary(C.geom),
        )
        .outerjoin(S, S.id == C.street_id)
        .where(C.code.in_(list(communities)), C.geom.is_not(None))
        .order_by(C.code)
    )
    return _frame(session.execute(query).all(), columns)


def communities_of(session: Session, *, street: str | None, community: str | None) -> list[str]:
    """The community codes to show: one community, a street office's, or every one."""
    if community:
        if session.execute(select(C.id).where(C.code == community)).first() is None:
            msg = f"unknown community code {community}"
            raise NotFoundError(msg)
        return [community]
    query = select(C.code).where(C.geom.is_not(None)).order_by(C.code)
    if street:
        query = query.join(S, S.id == C.street_id).where(S.code == street)
        codes = list(session.execute(query).scalars())
        if not codes:
            msg = f"unknown street code {street}, or a street office without communities"
            raise NotFoundError(msg)
        return codes
    return list(session.execute(query).scalars())


def extent(session: Session, communities: Sequence[str]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the communities' polygons, or None."""
    box = func.ST_Extent(C.geom)
    query = select(
        func.ST_YMin(box), func.ST_XMin(box), func.ST_YMax(box), func.ST_XMax(box)
    ).where(C.code.in_(communities))
    row = session.execute(query).one()
    return None if row[0] is None else [[row[0], row[1]], [row[2], row[3]]]


def _grids_query(communities: Sequence[str], level: str | None) -> Select:
    query = (
        select(G.code, G.level, G.parent_code, G.households, C.code, G.locked, G.version)
        .join(C, C.id == G.community_id)
        .where(G.valid_to.is_(None), C.code.in_(communities))
    )
    return query if level is None else query.where(G.level == level)


def count_grids(session: Session, communities: Sequence[str], level: str) -> int:
    sub = _grids_query(communities, level).subquery()
    return int(session.execute(select(func.count()).select_from(sub)).scalar_one())


def grids(session: Session, communities: Sequence[str], level: str | None = None):
    """The current layer of the communities (both levels unless `level`), GeoDataFrame; with
    building_count, the buildings among each grid's members (a split one counts in each)."""
    columns = ["code", "level", "parent_code", "households", "community_code", "locked"]
    columns += ["version", "building_count"]
    count = func.coalesce(func.jsonb_array_length(G.members), 0)
    query = (
        _grids_query(communities, level)
        .add_columns(count, func.ST_AsBinary(G.geom))
        .order_by(G.code)
    )
    return _frame(session.execute(query).all(), columns)


def grid_codes(session: Session, communities: Sequence[str]) -> list[str]:
    """Codes of the communities' current grids (grid level)."""
    sub = _grids_query(communities, "grid").subquery()
    return list(session.execute(select(sub.c.code).order_by(sub.c.code)).scalars())


def _in_communities(geometry, communities: Sequence[str]):
    area = select(func.ST_Union(C.geom)).where(C.code.in_(communities)).scalar_subquery()
    return func.ST_Intersects(geometry, area)


def count_buildings(session: Session, communities: Sequence[str]) -> int:
    query = select(func.count()).select_from(B).where(_in_communities(B.location, communities))
    return int(session.execute(query).scalar_one())


#: OSM building values in words, for the title of a building without name or address.
BUILDING_KINDS = {
    "residential": "住宅", "apartments": "住宅", "house": "住宅", "detached": "住宅",
    "dormitory": "宿舍", "commercial": "商业", "retail": "商业", "office": "办公",
    "school": "学校", "university": "学校", "college": "学校", "kindergarten": "幼儿园",
    "hospital": "医院", "hotel": "酒店", "industrial": "工业", "warehouse": "仓库",
    "public": "公共建筑", "government": "机关", "civic": "公共建筑", "church": "宗教建筑",
    "temple": "宗教建筑", "train_station": "车站", "garage": "车库", "parking": "停车楼",
}  # fmt: skip


#: The kinds in English, for the English page.
KINDS_EN = {
    "住宅": "residential", "宿舍": "dormitory", "商业": "commercial", "办公": "office",
    "学校": "school", "幼儿园": "kindergarten", "医院": "hospital", "酒店": "hotel",
    "工业": "industrial", "仓库": "warehouse", "公共建筑": "public", "机关": "government",
    "宗教建筑": "religious", "车站": "station", "车库": "garage", "停车楼": "car park",
}  # fmt: skip


def building_title(
    name: str | None,
    address: str | None,
    building_type: str | None,
    households: int = 0,
    *,
    lang: str = "zh",
) -> str:
    """What a person reads for a building: its name, else its address, else 未命名楼栋（住宅）
    (the kind from the OSM building value, else 住宅 where it has households); never its id.
    With lang="en", "Unnamed building (residential)" instead."""
    for text in (name, address):
        if isinstance(text, str) and text.strip():  # frames hold NaN for missing text
            return text
    kind = BUILDING_KINDS.get(building_type.lower() if isinstance(building_type, str) else "")
    kind = kind or ("住宅" if households and households > 0 else None)
    if lang == "en":
        return f"Unnamed building ({KINDS_EN[kind]})" if kind else "Unnamed building"
    return f"未命名楼栋（{kind}）" if kind else "未命名楼栋"


def buildings(
    session: Session, communities: Sequence[str], *, points: bool = False
) -> gpd.GeoDataFrame:
    """Buildings whose location lies in the communities: building_id, title (building_title),
    households, name, address, floors; footprints (or the point where there is none), or
    points only."""
    geometry = B.location if points else func.coalesce(B.footprint, B.location)
    columns = ["building_id", "households", "name", "address", "floors", "building_type"]
    query = (
        select(*(getattr(B, c) for c in columns), func.ST_AsBinary(geometry))
        .where(_in_communities(B.location, communities))
        .order_by(B.building_id)
    )
    frame = _frame(session.execute(query).all(), columns)
    titles = [
        building_title(n, a, t, h)
        for n, a, t, h in zip(
            frame["name"],
            frame["address"],
            frame["building_type"],
            frame["households"],
            strict=True,
        )
    ]
    frame.insert(1, "title", titles)
    return frame.drop(columns="building_type")


BUILDING_DETAIL = (
    "building_id", "name", "address", "building_type", "floors", "units", "households",
    "households_source", "households_rule",
)  # fmt: skip


def building_detail(session: Session, building_id: str) -> dict:
    """One building for its popup: :data:`BUILDING_DETAIL` and its community's code and name,
    where its households come from (register, given, estimated) and the rule of an estimate."""
    columns = [getattr(B, c) for c in BUILDING_DETAIL]
    query = (
        select(*columns, C.code, C.name)
        .outerjoin(C, C.id == B.community_id)
        .where(B.building_id == building_id)
    )
    row = session.execute(query).first()
    if row is None:
        msg = f"楼栋 {building_id} 不存在 (unknown building {building_id})"
        raise NotFoundError(msg)
    found = dict(zip((*BUILDING_DETAIL, "community_code", "community_name"), row, strict=True))
    title = building_title(
        found["name"], found["address"], found["building_type"], found["households"]
    )
    return found | {"title": title}


def barriers(session: Session, communities: Sequence[str]) -> gpd.GeoDataFrame:
    """Roads of the barrier classes (major roads, railways, waterways) across the communities."""
    query = (
        select(models.Road.class_, models.Road.name, func.ST_AsBinary(models.Road.geom))
        .where(
            func.lower(models.Road.class_).in_(sorted(BARRIER_CLASSES)),
            _in_communities(models.Road.geom, communities),
        )
        .order_by(models.Road.id)
    )
    return _frame(session.execute(query).all(), ["class", "name"])


def workers_by_grid(session: Session, codes: Sequence[str]) -> dict[str, list[dict]]:
    """Grid code → the workers serving it ({name, role}), leaders first."""
    order = {"grid_leader": 0, "full_time": 1, "part_time": 2}
    query = (
        select(models.WorkerGrid.grid_code, models.Worker.name, models.Worker.role)
        .join(models.Worker, models.Worker.id == models.WorkerGrid.worker_id)
        .where(models.WorkerGrid.grid_code.in_(list(codes)))
        .order_by(models.WorkerGrid.grid_code, models.Worker.name)
    )
    found: dict[str, list[dict]] = {}
    for code, name, role in session.execute(query):
        found.setdefault(code, []).append({"name": name, "role": role})
    for people in found.values():
        people.sort(key=lambda w: order.get(w["role"], 9))
    return found


def stations(session: Session) -> gpd.GeoDataFrame:
    """Every station with its public fields only (no contact person), and the residents'
    rating from rated service orders (resident_rating, None when none; ratings, the count)."""
    St = models.Station
    columns = [
        "station_id", "name", "type", "functions", "stars", "opening_hours", "services", "phone",
        "address", "location_source",
    ]  # fmt: skip
    SO = models.ServiceOrder
    rated = (
        select(
            SO.station_id.label("id"),
            func.round(func.avg(SO.stars), 1).label("rating"),
            func.count().label("ratings"),
        )
        .where(SO.stars.is_not(None))
        .group_by(SO.station_id)
        .subquery()
    )
    query = (
        select(
            *(getattr(St, c) for c in columns),
            rated.c.rating.cast(Float),
            func.coalesce(rated.c.ratings, 0),
            func.ST_AsBinary(St.geom),
        )
        .outerjoin(rated, rated.c.id == St.id)
        .order_by(St.station_id)
    )
    return _frame(session.execute(query).all(), [*columns, "resident_rating", "ratings"])
