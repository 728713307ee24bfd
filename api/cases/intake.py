"""Case intake (事件上报): a report is located, checked for duplicates, dispatched to its grid's
worker (or a department) and stored with its first events and audit row in one statement.

Queries never commit; the request (or the CLI) owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from api.accounts import audit
from api.cases import dispatch
from api.cases import queries as case_queries
from api.cases.actors import Actor
from api.cases.rows import Case, _event
from api.errors import ConflictError
from api.storage import models
from data.catalogs import case_categories
from geo.coords import to_wgs84
from geo.dispatch import search_radius_deg
from geo.errors import InputError


@dataclass
class NewCase:
    """A report as it arrives: one of lon/lat, address or building_id, and a category."""

    category: str
    description: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    building_id: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    intake: str = "api"
    external_id: str | None = None

    def fingerprint(self) -> str:
        """SHA-256 of the request body, to compare retries under one Idempotency-Key."""
        body = {k: v for k, v in asdict(self).items() if k != "intake"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def category(code: str) -> dict:
    found = case_categories().get(code)
    if found is None:
        tops = ", ".join(c for c, v in case_categories().items() if v["parent"] is None)
        msg = f"unknown category {code!r}; known: {tops} (and sub-categories: /api/categories)"
        raise InputError(msg)
    return found


def locate(
    session: Session, report: NewCase, *, database_url: str | None
) -> tuple[float, float, dict]:
    """WGS-84 lon/lat of a report and how it was found (InputError when it cannot be)."""
    given = [
        report.lon is not None or report.lat is not None,
        bool(report.address),
        bool(report.building_id),
    ]
    if sum(given) != 1:
        msg = "give exactly one location: lon and lat (with crs), an address, or a building_id"
        raise InputError(msg)
    if given[0]:
        if report.lon is None or report.lat is None:
            msg = "give both lon and lat"
            raise InputError(msg)
        if report.crs not in ("wgs84", "gcj02", "bd09"):
            msg = f"unknown crs {report.crs!r}: expected wgs84, gcj02 or bd09"
            raise InputError(msg)
        lon, lat = to_wgs84(report.lon, report.lat, crs=report.crs)
        return float(lon), float(lat), {"from": "coordinates", "crs": report.crs}
    if report.building_id:
        row = session.execute(
            select(func.ST_X(models.Building.location), func.ST_Y(models.Building.location)).where(
                models.Building.building_id == report.building_id
            )
        ).first()
        if row is None:
            msg = f"unknown building_id {report.building_id!r}"
            raise InputError(msg)
        return float(row[0]), float(row[1]), {"from": "building", "building_id": report.building_id}
    from api.addresses import geocode as geocode_db

    if database_url is None:
        msg = "geocoding an address needs the database URL"
        raise InputError(msg)
    match = geocode_db.geocode_one(session, database_url, report.address)
    if match.lon is None or match.level in ("none", "city", "district"):
        msg = (
            f"the address {report.address!r} could not be placed precisely enough "
            f"(matched level: {match.level}); give coordinates or a building instead"
        )
        raise InputError(msg)
    how = {"from": "address", "level": match.level, "score": round(match.score, 3),
           "matched_id": match.matched_id}  # fmt: skip
    return float(match.lon), float(match.lat), how


def create_case(
    session: Session,
    report: NewCase,
    *,
    actor: Actor | None = None,
    idempotency_key: str | None = None,
    database_url: str | None = None,
    settings: Any = None,
) -> tuple[int, bool]:
    """Store and dispatch a report; return (case id, created). The same Idempotency-Key with the
    same body answers the case stored first (created False); with another body, a 409."""
    case_id, created, _ = intake(
        session, report, actor=actor, idempotency_key=idempotency_key,
        database_url=database_url, settings=settings,
    )  # fmt: skip
    return case_id, created


def intake(
    session: Session,
    report: NewCase,
    *,
    actor: Actor | None = None,
    idempotency_key: str | None = None,
    database_url: str | None = None,
    settings: Any = None,
) -> tuple[int, bool, dict | None]:
    """As :func:`create_case`, with the new case's row as ``case_queries.one(receipt=True)``
    reads it (None when an earlier case is answered): no read-back round trip."""
    from api.settings import get_settings

    settings = settings or get_settings()
    actor = actor or Actor("anonymous", "public")
    fingerprint = report.fingerprint()
    reporter = None if actor.username in ("anonymous", "system") else actor.username
    if idempotency_key:
        known = _by_key(session, idempotency_key, fingerprint, reporter)
        if known is not None:
            return known, False, None
    cat = category(report.category)
    lon, lat, how = locate(session, report, database_url=database_url)
    now = datetime.now(UTC)  # one round trip fewer than the database clock
    window = {"metres": settings.case_duplicate_m, "hours": settings.case_duplicate_hours}
    route, duplicate, workers = _lookup(session, cat["code"], lon, lat, now, settings, **window)
    if route.routing is None:
        msg = f"the point {lon:.6f}, {lat:.6f} lies outside every grid, community and street office"
        raise InputError(msg)
    status, queue, assignee, department = _initial(session, cat, route, workers)
    values = {
        "category": cat["code"], "description": report.description, "address": report.address,
        "status": status, "grid_code": route.grid_code, "micro_grid_code": route.micro_grid_code,
        "community_code": route.community_code, "street_code": route.street_code,
        "assignee_id": assignee, "reported_at": now, "updated_at": now,
        "due_at": now + timedelta(hours=cat["deadline_hours"]), "intake": report.intake,
        "reporter_name": report.reporter_name, "reporter_phone": report.reporter_phone,
        "source_lon": report.lon, "source_lat": report.lat,
        "source_crs": report.crs if report.lon is not None else None,
        "building_id": report.building_id, "handling_level": cat["level"],
        "department": department, "priority": cat["priority"], "queue": queue,
        "routing": route.routing, "route_distance_m": route.distance_m,
        "duplicate_of": duplicate, "receipt": secrets.token_urlsafe(16)[:22],
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint if idempotency_key else None,
        "external_id": report.external_id,
        "reported_by": reporter,
    }  # fmt: skip
    data = {"location": how, "routing": route.routing, "distance_m": route.distance_m}
    if duplicate:
        data["duplicate_of"] = duplicate
    events = [{"actor": actor.username, "from_status": None, "to_status": "reported",
               "kind": "create", "action": "report", "data": data}]  # fmt: skip
    if status != "reported":
        action = "dispatch_department" if status == "transferred" else "dispatch"
        data = {"assignee_id": assignee, "department": department}
        events.append({"actor": "system", "from_status": "reported", "to_status": status,
                       "kind": "transition", "action": action, "data": data})  # fmt: skip
    after = {
        "status": status,
        "category": cat["code"],
        "grid_code": route.grid_code,
        "assignee_id": assignee,
        "department": department,
        "duplicate_of": duplicate,
    }
    detail = audit._json_ready({"after": after})  # the same cut as audit.record
    params = {**values, "lon": lon, "lat": lat, "srid": models.SRID,
              "events": json.dumps(events, default=str), "audit_actor": actor.username,
              "audit_detail": None if detail is None else json.dumps(detail)}  # fmt: skip
    # case, its events and the audit row in one statement: the events and the audit row come
    # from the RETURNING of the case insert, so a key conflict inserts none of them
    row = session.execute(INSERT_CASE, params).first()
    if row is None:  # another request with this key committed meanwhile
        known = _by_key(session, idempotency_key, fingerprint, reporter)
        return known, False, None
    return row.id, True, case_queries.as_dict(row)


def _lookup(
    session: Session,
    code: str,
    lon: float,
    lat: float,
    at: datetime,
    settings: Any,
    *,
    metres: float,
    hours: float,
) -> tuple[dispatch.Route, int | None, list | None]:
    """(route, duplicate_of, workers of the grid) in one round trip for a point inside a grid;
    points outside every grid take the slower rule of :func:`dispatch.route_outside`."""
    radius = float(search_radius_deg(np.array([lat]), metres)[0])
    window = timedelta(hours=hours)
    params = {"code": code, "lon": lon, "lat": lat, "radius": radius, "metres": metres,
              "start": at - window, "end": at + window, "open": dispatch.OPEN_LIST}  # fmt: skip
    row = session.execute(LOOKUP, params).one()
    duplicate = row.duplicate
    if row.code is None:
        route = dispatch.route_outside(session, lon, lat, tolerance_m=settings.case_nearest_m)
        return route, duplicate, None
    route = dispatch.Route(row.code, row.micro, row.community, row.street, "contained", 0.0)
    return route, duplicate, [tuple(w) for w in row.workers or []]


#: The contained route (as dispatch.CONTAINED), the first open case of the same category within
#: `metres` and `hours` (its original; the degree radius lets the GiST index find candidates,
#: the geography distance decides) and the grid's
#: on-duty workers with their open load (as dispatch.GRID_WORKERS), in one statement.
LOOKUP = text(f"""
{dispatch.POINT_CTE},
grid AS (
{dispatch.CONTAINED_GRID}),
dup AS (
SELECT c.id, c.duplicate_of FROM cases c, pt
 WHERE c.category = :code AND c.status <> 'closed' AND c.reported_at BETWEEN :start AND :end
   AND ST_DWithin(c.geom, pt.g, :radius)
   AND ST_DWithin(c.geom::geography, pt.g::geography, :metres)
 ORDER BY c.reported_at, c.id LIMIT 1)
SELECT grid.code, grid.community, grid.street, grid.micro,
       (SELECT coalesce(dup.duplicate_of, dup.id) FROM dup) AS duplicate,
       (SELECT json_agg(json_build_array(w.id, w.worker_id, w.role,
               (SELECT count(*) FROM cases k
                 WHERE k.assignee_id = w.id AND k.status = ANY(:open))))
          FROM workers w JOIN worker_grids wg ON wg.worker_id = w.id
         WHERE wg.grid_code = grid.code AND w.on_duty) AS workers
  FROM (SELECT 1) AS one LEFT JOIN grid ON true
""")

_CASE_COLUMNS = (
    "category", "description", "address", "status", "grid_code", "micro_grid_code",
    "community_code", "street_code", "assignee_id", "reported_at", "updated_at", "due_at",
    "intake", "reporter_name", "reporter_phone", "source_lon", "source_lat", "source_crs",
    "building_id", "handling_level", "department", "priority", "queue", "routing",
    "route_distance_m", "duplicate_of", "receipt", "idempotency_key", "request_hash",
    "external_id", "reported_by",
)  # fmt: skip
INSERT_CASE = text(f"""
WITH c AS (
INSERT INTO cases ({", ".join(_CASE_COLUMNS)}, geom)
VALUES ({", ".join(":" + k for k in _CASE_COLUMNS)},
        ST_SetSRID(ST_MakePoint(:lon, :lat), :srid))
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *),
e AS (
INSERT INTO case_events (case_id, actor, from_status, to_status, kind, action, data, at)
SELECT c.id, e.j ->> 'actor', e.j ->> 'from_status', e.j ->> 'to_status', e.j ->> 'kind',
       e.j ->> 'action', e.j -> 'data', :reported_at
  FROM c, jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS e(j, n)
 ORDER BY e.n),
a AS (
INSERT INTO audit_log (actor, action, object_type, object_id, detail)
SELECT :audit_actor, 'case.create', 'case', c.id::text, CAST(:audit_detail AS jsonb) FROM c)
SELECT c.id, c.external_id, c.category, c.description, c.address, c.status, c.grid_code,
       c.micro_grid_code, c.community_code, c.street_code, w.worker_id AS assignee,
       w.name AS assignee_name, c.department, c.handling_level, c.priority, c.queue, c.routing,
       c.route_distance_m, c.reported_at, c.due_at,
       (c.due_at IS NOT NULL AND coalesce(c.resolved_at, now()) > c.due_at) AS overdue,
       c.supervised, c.duplicate_of, c.rating, c.resolved_at, c.closed_at, c.updated_at,
       c.version, c.intake, c.building_id, c.reporter_name, c.reporter_phone, c.source_lon,
       c.source_lat, c.source_crs, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.receipt
  FROM c LEFT JOIN workers w ON w.id = c.assignee_id
""").columns(*case_queries._columns(), Case.receipt)  # the types of case_queries.one's row


KEY_TAKEN = (
    "该 Idempotency-Key 已用于另一个请求，请换一个新的键 "
    "(this Idempotency-Key was used for another request: send a new one)"
)


def _by_key(session: Session, key: str, fingerprint: str, reporter: str | None) -> int | None:
    """The case stored first under `key`, answered again only to its own client: the same body
    and the same account (`reported_by`; None for anonymous reports, whose random key is the
    reporter's secret). Anything else is a 409 naming nothing of that case."""
    row = session.execute(
        select(Case.id, Case.request_hash, Case.reported_by).where(Case.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint or row.reported_by != reporter:
        raise ConflictError(KEY_TAKEN)
    return row.id


def _initial(
    session: Session, cat: dict, route: dispatch.Route, workers: list | None = None
) -> tuple[str, str, int | None, str | None]:
    """(status, queue, assignee, department) of a new case (`workers`: the grid's, if known)."""
    if cat["to_department"]:
        return "transferred", "department", None, cat["department"]
    if route.grid_code is not None:
        if workers is None:
            assignee = dispatch.pick_assignee(session, route.grid_code)
        else:
            assignee = dispatch.choose_worker(workers)
        if assignee is not None:
            return "dispatched", "grid", assignee, None
        return "reported", "community", None, None
    return "reported", route.routing, None, None


def route_unrouted(session: Session, *, actor: str = "system") -> int:
    """Dispatch stored cases that were never routed (bulk loads before grids existed)."""
    from api.settings import get_settings

    tolerance = get_settings().case_nearest_m
    rows = session.execute(
        select(Case.id, Case.category, func.ST_X(Case.geom), func.ST_Y(Case.geom))
        .where(Case.routing.is_(None), Case.status == "reported", Case.geom.is_not(None))
        .order_by(Case.id)
    ).all()
    done = 0
    for case_id, code, lon, lat in rows:
        cat = case_categories().get(code)
        route = dispatch.route_point(session, lon, lat, tolerance_m=tolerance)
        if cat is None or route.routing is None:
            continue
        status, queue, assignee, department = _initial(session, cat, route)
        reported_at = session.execute(
            select(Case.reported_at).where(Case.id == case_id)
        ).scalar_one()
        session.execute(
            update(Case).where(Case.id == case_id).values(
                grid_code=route.grid_code, micro_grid_code=route.micro_grid_code,
                community_code=route.community_code, street_code=route.street_code,
                routing=route.routing, route_distance_m=route.distance_m, status=status,
                queue=queue, assignee_id=assignee, department=department,
                handling_level=cat["level"], priority=cat["priority"],
                due_at=reported_at + timedelta(hours=cat["deadline_hours"]),
                receipt=secrets.token_urlsafe(16)[:22], version=Case.version + 1,
            )
        )  # fmt: skip
        if status != "reported":
            _event(session, case_id, actor=actor, before="reported", after=status,
                   action="dispatch_department" if status == "transferred" else "dispatch",
                   data={"assignee_id": assignee, "department": department},
                   at=reported_at)  # fmt: skip
        done += 1
    return done
