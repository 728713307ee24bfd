"""Dispatch in PostGIS: a point to its grid, micro-grid, community and street office, and the
grid to a worker. The rule is the one written out in :mod:`geo.dispatch` (lowest code on shared
boundaries, nearest grid within the tolerance in the point's UTM zone, then triage queues);
only current grids (``valid_to IS NULL``) count, found through the GiST index on ``grids.geom``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import func, literal, select, text
from sqlalchemy.orm import Session

from api.cases.workflow import OPEN
from api.storage import models
from geo.dispatch import search_radius_deg, utm_epsg

G, C, S, W, WG = models.Grid, models.Community, models.Street, models.Worker, models.WorkerGrid
#: Worker roles that take cases first, in order of preference at equal load; leaders come last.
WORKER_RANK = {"full_time": 0, "part_time": 1}


@dataclass(frozen=True)
class Route:
    """Where a point goes; `routing` is contained, nearest, community, street or None."""

    grid_code: str | None
    micro_grid_code: str | None
    community_code: str | None
    street_code: str | None
    routing: str | None
    distance_m: float | None


def point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(literal(lon), literal(lat)), models.SRID)


def _grid_select():
    return (
        select(G.code, C.code.label("community"), S.code.label("street"))
        .outerjoin(C, C.id == G.community_id)
        .outerjoin(S, S.id == C.street_id)
        .where(G.level == "grid", G.valid_to.is_(None))
    )


#: The usual case in one statement: the lowest-coded grid the point lies in or on, its micro-grid,
#: community and street office. Plain text SQL: building the equivalent expression per call
#: cost several milliseconds of Python on a busy machine, the query itself well under one.
#: The point as a CTE ``pt`` and the SELECT of the contained route over it (api/cases/intake.py
#: builds its one-statement intake around the same SELECT).
POINT_CTE = "WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)"
CONTAINED_GRID = """SELECT grid.code, c.code AS community, s.code AS street,
       (SELECT m.code FROM grids m, pt
         WHERE m.level = 'micro' AND m.valid_to IS NULL AND m.parent_code = grid.code
           AND ST_Intersects(m.geom, pt.g)
         ORDER BY m.code LIMIT 1) AS micro
  FROM grids grid CROSS JOIN pt
  LEFT JOIN communities c ON c.id = grid.community_id
  LEFT JOIN streets s ON s.id = c.street_id
 WHERE grid.level = 'grid' AND grid.valid_to IS NULL AND ST_Intersects(grid.geom, pt.g)
 ORDER BY grid.code LIMIT 1"""
CONTAINED = text(f"\n{POINT_CTE}\n{CONTAINED_GRID}\n")


def route_point(session: Session, lon: float, lat: float, *, tolerance_m: float) -> Route:
    """Route one WGS-84 point (see the module docstring for the rule)."""
    row = session.execute(CONTAINED, {"lon": lon, "lat": lat}).first()  # one round trip
    if row is not None:
        return Route(row.code, row.micro, row.community, row.street, "contained", 0.0)
    return route_outside(session, lon, lat, tolerance_m=tolerance_m)


def route_outside(session: Session, lon: float, lat: float, *, tolerance_m: float) -> Route:
    """The rule for a point inside no grid: nearest grid, community, street office, or none."""
    pt = point(lon, lat)
    epsg = int(utm_epsg(np.array([lon]), np.array([lat]))[0])
    radius = float(search_radius_deg(np.array([lat]), tolerance_m)[0])
    metres = func.ST_Distance(func.ST_Transform(G.geom, epsg), func.ST_Transform(pt, epsg))
    near = session.execute(
        _grid_select().add_columns(metres.label("d")).where(func.ST_DWithin(G.geom, pt, radius))
    ).all()
    candidates = [(round(r.d, 3), r.code, r) for r in near if round(r.d, 3) <= tolerance_m]
    if candidates:
        d, _, r = min(candidates, key=lambda c: (c[0], c[1]))
        return Route(r.code, None, r.community, r.street, "nearest", d)
    found = session.execute(
        select(C.code, S.code.label("street"))
        .outerjoin(S, S.id == C.street_id)
        .where(C.geom.is_not(None), func.ST_Intersects(C.geom, pt))
        .order_by(C.code)
        .limit(1)
    ).first()
    if found is not None:
        return Route(None, None, found.code, found.street, "community", None)
    street = session.execute(
        select(S.code)
        .where(S.geom.is_not(None), func.ST_Intersects(S.geom, pt))
        .order_by(S.code)
        .limit(1)
    ).scalar()
    if street is not None:
        return Route(None, None, None, street, "street", None)
    return Route(None, None, None, None, None, None)


def open_load():
    """Correlated count of a worker's open cases."""
    return (
        select(func.count())
        .select_from(models.Case)
        .where(models.Case.assignee_id == W.id, models.Case.status.in_(sorted(OPEN)))
        .correlate(W)
        .scalar_subquery()
    )


def grid_workers(session: Session, grid_code: str) -> list[tuple[int, str, str, int]]:
    """(workers.id, worker_id, role, open cases) of the grid's on-duty workers."""
    return [tuple(r) for r in session.execute(GRID_WORKERS, {"grid": grid_code, "open": OPEN_LIST})]


GRID_WORKERS = text("""
SELECT w.id, w.worker_id, w.role,
       (SELECT count(*) FROM cases c WHERE c.assignee_id = w.id AND c.status = ANY(:open))
  FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id
 WHERE wg.grid_code = :grid AND w.on_duty
""")
OPEN_LIST = sorted(OPEN)


def choose_worker(workers: list[tuple[int, str, str, int]]) -> int | None:
    """The on-duty grid worker with the fewest open cases (full-time before part-time, then by
    worker_id); the grid leader when the grid has no other worker on duty."""
    doers = [w for w in workers if w[2] in WORKER_RANK]
    if doers:
        return min(doers, key=lambda w: (w[3], WORKER_RANK[w[2]], w[1]))[0]
    leaders = [w for w in workers if w[2] == "grid_leader"]
    return min(leaders, key=lambda w: (w[3], w[1]))[0] if leaders else None


def pick_assignee(session: Session, grid_code: str | None) -> int | None:
    return choose_worker(grid_workers(session, grid_code)) if grid_code else None


def routing_layers(
    session: Session,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The current grids, the communities and the street offices, as geo.dispatch wants them."""
    rows = session.execute(
        select(
            G.code,
            G.level,
            G.parent_code,
            C.code.label("community_code"),
            func.ST_AsBinary(G.geom),
        )
        .outerjoin(C, C.id == G.community_id)
        .where(G.valid_to.is_(None))
    ).all()
    grids = _frame(rows, ["code", "level", "parent_code", "community_code"])
    rows = session.execute(
        select(C.code, S.code.label("street_code"), func.ST_AsBinary(C.geom)).outerjoin(
            S, S.id == C.street_id
        )
    ).all()
    communities = _frame(rows, ["code", "street_code"])
    streets = _frame(session.execute(select(S.code, func.ST_AsBinary(S.geom))).all(), ["code"])
    return grids, communities, streets


def _frame(rows, columns: list[str]) -> gpd.GeoDataFrame:
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    wkb = [r[-1] for r in rows]
    geoms = [None if w is None else shapely.from_wkb(bytes(w)) for w in wkb]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=models.SRID), crs=models.SRID)


def as_route(row) -> Route:
    """A Route from one row of geo.dispatch.route_points (NaN read as None)."""

    def value(name: str):
        v = row[name]
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    d = value("distance_m")
    return Route(
        value("grid_code"),
        value("micro_grid_code"),
        value("community_code"),
        value("street_code"),
        value("routing"),
        None if d is None else float(d),
    )
