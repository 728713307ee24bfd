"""Cases (事件): intake, automatic dispatch, transitions through the closed loop, re-routing.

Queries never commit; the request (or the CLI) owns the transaction. Every change of a case
appends a row to case_events (append-only) and raises ``cases.version`` by one; transitions
lock the case row (SELECT … FOR UPDATE) and check the caller's version, so of two workers
accepting the same case at once exactly one wins and the other gets a 409.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, false, func, insert, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from api import audit, case_queries, dispatch, workflow
from api.errors import ConflictError, ForbiddenError, NotFoundError
from api.storage import models
from data.catalogs import case_categories
from geo.coords import to_wgs84
from geo.dispatch import search_radius_deg
from geo.errors import InputError

Case, Event, W = models.Case, models.CaseEvent, models.Worker
CASES, EVENTS = Case.__table__, Event.__table__
STAFF = frozenset({"grid_worker", "grid_leader", "community_admin", "street_admin", "admin"})
SEES_ALL = frozenset({"admin", "planner"})


class IllegalTransition(ConflictError):
    """409 with the actions the caller may take from the case's status."""

    def __init__(self, message: str, allowed: list[str], version: int | None = None) -> None:
        super().__init__(message)
        self.extra = {"allowed": allowed, **({"version": version} if version else {})}


@dataclass
class Actor:
    """Who acts: a signed-in Principal's fields, or the service itself (role 'system')."""

    username: str
    role: str
    worker_id: str | None = None
    grid_codes: list[str] = field(default_factory=list)
    community_code: str | None = None
    street_code: str | None = None
    department: str | None = None

    @classmethod
    def of(cls, principal: Any | None) -> Actor:
        if principal is None:
            return cls("anonymous", "public")
        return cls(
            principal.username,
            str(principal.role),
            principal.worker_id,
            list(principal.grid_codes),
            principal.community_code,
            principal.street_code,
            principal.department,
        )


SYSTEM = Actor("system", "system")


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


def _now(session: Session) -> datetime:
    return session.execute(select(func.clock_timestamp())).scalar_one()


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
    from api import geocode_db

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


def _event(
    session: Session,
    case_id: int,
    *,
    actor: str,
    before: str | None,
    after: str,
    kind: str = "transition",
    action: str | None = None,
    note: str | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> None:
    values = {"case_id": case_id, "actor": actor, "from_status": before, "to_status": after,
              "kind": kind, "action": action, "note": note, "data": data}  # fmt: skip
    if at is not None:
        values["at"] = at
    session.execute(insert(Event).values(**values))


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
    if idempotency_key:
        known = _by_key(session, idempotency_key, fingerprint)
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
        "reported_by": None if actor.username in ("anonymous", "system") else actor.username,
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
        known = _by_key(session, idempotency_key, fingerprint)
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


def _by_key(session: Session, key: str, fingerprint: str) -> int | None:
    row = session.execute(
        select(Case.id, Case.request_hash).where(Case.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        msg = f"Idempotency-Key {key!r} was used for a different request (case {row.id})"
        raise ConflictError(msg)
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


# -- transitions -------------------------------------------------------------------------------


def may_see(actor: Actor, case: Any) -> bool:
    """Row-level visibility, the same rule as visible_filter."""
    role = actor.role
    if role in SEES_ALL or role == "system":
        return True
    if role == "street_admin":
        return actor.street_code is not None and case.street_code == actor.street_code
    if role == "community_admin":
        return actor.community_code is not None and case.community_code == actor.community_code
    if role in ("grid_worker", "grid_leader"):
        mine = case.assignee_id is not None and _worker_pk_matches(case, actor)
        return mine or case.grid_code in actor.grid_codes
    if role == "department":
        return actor.department is not None and case.department == actor.department
    if role == "resident":
        return case.reported_by is not None and case.reported_by == actor.username
    return False


def _worker_pk_matches(case: Any, actor: Actor) -> bool:
    return (
        getattr(case, "assignee_worker_id", None) == actor.worker_id and actor.worker_id is not None
    )


def visible_filter(principal: Any | None):
    """SQL condition on `cases` for the rows `principal` may see in lists (none when anonymous)."""
    actor = Actor.of(principal) if not isinstance(principal, Actor) else principal
    role = actor.role
    if role in SEES_ALL or role == "system":
        return true()
    if role == "street_admin" and actor.street_code:
        return Case.street_code == actor.street_code
    if role == "community_admin" and actor.community_code:
        return Case.community_code == actor.community_code
    if role in ("grid_worker", "grid_leader"):
        mine = select(W.id).where(W.worker_id == actor.worker_id).scalar_subquery()
        return or_(Case.grid_code.in_(actor.grid_codes or [""]), Case.assignee_id == mine)
    if role == "department" and actor.department:
        return Case.department == actor.department
    if role == "resident":  # their own reports, made while signed in
        return Case.reported_by == actor.username
    return false()


def load_case(session: Session, case_id: int, *, lock: bool = False):
    query = (
        select(Case, W.worker_id.label("assignee_worker_id"))
        .outerjoin(W, W.id == Case.assignee_id)
        .where(Case.id == case_id)
    )
    if lock:
        query = query.with_for_update(of=Case)
    row = session.execute(query).first()
    if row is None:
        msg = f"no case {case_id}"
        raise NotFoundError(msg)
    case, worker_id = row
    case.assignee_worker_id = worker_id
    return case


def _worker_pk(session: Session, worker_id: str) -> tuple[int, list[str]]:
    row = session.execute(select(W.id).where(W.worker_id == worker_id)).scalar()
    if row is None:
        msg = f"unknown worker {worker_id!r}"
        raise InputError(msg)
    grids = list(
        session.execute(
            select(models.WorkerGrid.grid_code).where(models.WorkerGrid.worker_id == row)
        ).scalars()
    )
    return row, grids


@dataclass
class Step:
    """One requested transition with its optional arguments."""

    action: str
    version: int
    note: str | None = None
    assignee: str | None = None  # workers.worker_id, for dispatch/reassign
    grid_code: str | None = None  # for dispatch/reassign: route to this grid's worker
    department: str | None = None  # for transfer/reassign to a department
    rating: int | None = None
    receipt: str | None = None


def transition(session: Session, case_id: int, step: Step, *, actor: Actor) -> int:
    """Apply `step` to the case; return its new version.

    Raises NotFoundError (or 404 for a case the actor may not see), IllegalTransition (409 with
    the allowed actions, also for a stale version), ForbiddenError (role or area), InputError.
    """
    case = load_case(session, case_id, lock=True)
    holds_receipt = step.receipt is not None and secrets.compare_digest(
        step.receipt.encode(), (case.receipt or "").encode()
    )
    role = actor.role
    if role == "resident" and case.reported_by == actor.username:
        holds_receipt = True  # a signed-in reporter needs no receipt for their own case
    if role in ("public", "resident"):
        if not holds_receipt:
            msg = (
                f"no case {case_id}" if not step.receipt else "the receipt does not match this case"
            )
            raise (NotFoundError if not step.receipt else ForbiddenError)(msg)
    elif not may_see(actor, case):
        msg = f"no case {case_id}"
        raise NotFoundError(msg)
    allowed = workflow.allowed_actions(case.status, role)
    if step.version != case.version:
        msg = (
            f"stale version {step.version}: case {case_id} is at version {case.version} "
            f"(status {case.status}); reload it"
        )
        raise IllegalTransition(msg, allowed, case.version)
    try:
        after = workflow.advance(
            workflow.CaseState(case.status, case.supervised), step.action, role
        )
    except workflow.TransitionError as exc:
        raise IllegalTransition(str(exc), exc.allowed, case.version) from None
    except workflow.RoleError as exc:
        raise ForbiddenError(f"{exc} (roles that may: {', '.join(exc.roles)})") from None
    now = _now(session)
    changes: dict[str, Any] = {"status": after.status, "supervised": after.supervised}
    data = _effects(session, case, step, actor, changes, now)
    changes.update(version=case.version + 1, updated_at=now)
    # synchronize_session=False: `case` keeps the values before the step (event, audit, return)
    stmt = update(Case).where(Case.id == case_id).values(**changes)
    session.execute(stmt.execution_options(synchronize_session=False))
    kind = "supervise" if step.action == "supervise" else "transition"
    _event(session, case_id, actor=actor.username, before=case.status, after=after.status,
           kind=kind, action=step.action, note=step.note, data=data or None, at=now)  # fmt: skip
    before = {"status": case.status, "version": case.version}
    after_ = {"status": after.status, "version": case.version + 1, **(data or {})}
    detail = {"action": step.action, "before": before, "after": after_}
    audit.record(session, actor.username, "case.transition", "case", case_id, detail)
    return case.version + 1


def _effects(
    session: Session, case: Any, step: Step, actor: Actor, changes: dict, now: datetime
) -> dict:
    """Field changes of each action beyond the status; returns the event's details."""
    action, data = step.action, {}
    if action == "accept" and actor.worker_id:
        changes["assignee_id"] = _worker_pk(session, actor.worker_id)[0]
        data["assignee"] = actor.worker_id
    elif action in ("dispatch", "reassign") and changes["status"] == "dispatched":
        target = _assign_target(session, case, step)
        changes.update(target)
        data.update({k: v for k, v in target.items() if k != "assignee_id"}, assignee=step.assignee)
        data["assignee_id"] = target.get("assignee_id")
    elif action in ("transfer", "dispatch_department") or (
        action == "reassign" and changes["status"] == "transferred"
    ):
        department = (step.department or "").strip() or (
            None if action == "reassign" else category(case.category)["department"]
        )
        if not department:
            msg = "name the department to reassign the case to"
            raise InputError(msg)
        changes.update(department=department, queue="department")
        data["department"] = department
    elif action == "send_back":
        if changes["status"] == "reported":
            changes.update(assignee_id=None, queue="community")
        else:
            changes.update(queue="street")
    elif action == "escalate":
        changes["queue"] = "community" if changes["status"] == "escalated_community" else "street"
    elif action == "resolve":
        changes["resolved_at"] = now
    elif action == "reopen":
        changes["resolved_at"] = None
    elif action == "note" and not (step.note or "").strip():
        msg = "a progress note (action 'note') needs the note text"
        raise InputError(msg)
    elif action == "rate":
        if step.rating is None or not 1 <= step.rating <= 5:
            msg = "rate needs a rating from 1 to 5"
            raise InputError(msg)
        changes["rating"] = step.rating
        data["rating"] = step.rating
    if action in ("close", "dismiss"):
        changes["closed_at"] = now
    return data


def _assign_target(session: Session, case: Any, step: Step) -> dict:
    """assignee_id (and grid codes when they change) for dispatch and reassign."""
    if step.assignee:
        pk, grids = _worker_pk(session, step.assignee)
        out = {"assignee_id": pk, "queue": "grid"}
        if case.grid_code not in grids and grids:
            out["grid_code"] = sorted(grids)[0]
        return out
    grid = step.grid_code or case.grid_code
    if grid is None:
        msg = "name a worker (assignee) or a grid (grid_code) to dispatch this case to"
        raise InputError(msg)
    current = session.execute(
        select(models.Grid.code).where(
            models.Grid.code == grid, models.Grid.level == "grid", models.Grid.valid_to.is_(None)
        )
    ).scalar()
    if current is None:
        msg = f"no current grid {grid!r}"
        raise InputError(msg)
    workers = [
        w
        for w in dispatch.grid_workers(session, grid)
        if w[0] != case.assignee_id or step.action != "reassign"
    ]
    pk = dispatch.choose_worker(workers)
    if pk is None:
        msg = f"grid {grid} has no other worker on duty; name an assignee"
        raise InputError(msg)
    return {"assignee_id": pk, "grid_code": grid, "queue": "grid"}


# -- re-routing after grid redraws --------------------------------------------------------------


def reroute_open_cases(session: Session, *, actor: str, tolerance_m: float | None = None) -> int:
    """Re-route open, routed cases whose point now lies in another grid (or micro-grid); each
    re-route appends a 'reroute' event. Worker assignments to retired grid codes move to the grid
    that replaced them where that is unambiguous. Returns the number of cases re-routed."""
    from api.settings import get_settings

    tolerance = get_settings().case_nearest_m if tolerance_m is None else tolerance_m
    move_retired_assignments(session)
    G = models.Grid
    best = (
        select(G.code)
        .where(G.level == "grid", G.valid_to.is_(None), func.ST_Intersects(G.geom, Case.geom))
        .order_by(G.code)
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Case.id,
            Case.grid_code,
            Case.micro_grid_code,
            Case.routing,
            func.ST_X(Case.geom),
            func.ST_Y(Case.geom),
        )
        .where(
            Case.status.in_(sorted(workflow.OPEN)),
            Case.routing.is_not(None),
            Case.geom.is_not(None),
        )
        .where(
            or_(
                Case.routing != "contained",
                Case.grid_code.is_(None),
                best.is_distinct_from(Case.grid_code),
                _micro_changed(),
            )
        )
        .order_by(Case.id)
    ).all()
    moved = 0
    for case_id, grid, micro, _routing, lon, lat in rows:
        route = dispatch.route_point(session, lon, lat, tolerance_m=tolerance)
        if (route.grid_code, route.micro_grid_code) == (grid, micro):
            continue
        _reroute(session, case_id, route, actor=actor)
        moved += 1
    return moved


def _micro_changed():
    G = models.Grid
    holds = (
        select(G.id)
        .where(
            G.code == Case.micro_grid_code,
            G.valid_to.is_(None),
            func.ST_Intersects(G.geom, Case.geom),
        )
        .correlate(Case)
        .exists()
    )
    return and_(Case.micro_grid_code.is_not(None), ~holds)


def _reroute(session: Session, case_id: int, route: dispatch.Route, *, actor: str) -> None:
    case = load_case(session, case_id, lock=True)
    after = workflow.advance(workflow.CaseState(case.status, case.supervised), "reroute", "system")
    changes: dict[str, Any] = {
        "grid_code": route.grid_code, "micro_grid_code": route.micro_grid_code,
        "community_code": route.community_code, "street_code": route.street_code,
        "routing": route.routing, "route_distance_m": route.distance_m,
    }  # fmt: skip
    status = after.status
    data = {"from_grid": case.grid_code, "to_grid": route.grid_code,
            "from_micro": case.micro_grid_code, "to_micro": route.micro_grid_code,
            "from_assignee": case.assignee_worker_id}  # fmt: skip
    regrid = status == "dispatched" and case.grid_code != route.grid_code
    if regrid and _serves(session, case.assignee_id, route.grid_code):
        status = case.status  # the assignee serves the new grid too: the work goes on
        data["to_assignee_id"] = case.assignee_id
    elif regrid:
        assignee = dispatch.pick_assignee(session, route.grid_code)
        if assignee is None:
            status = "reported"
            changes.update(
                assignee_id=None, queue=route.routing if route.grid_code is None else "community"
            )
        else:
            changes.update(assignee_id=assignee, queue="grid")
        data["to_assignee_id"] = assignee
    elif status == "dispatched":
        status = case.status  # only the micro-grid changed
    changes.update(status=status, version=case.version + 1, updated_at=_now(session))
    before = case.status  # the UPDATE below refreshes `case` in the session
    session.execute(update(Case).where(Case.id == case_id).values(**changes))
    _event(session, case_id, actor=actor, before=before, after=status, kind="reroute",
           action="reroute", data=data)  # fmt: skip


def _serves(session: Session, worker: int | None, grid_code: str | None) -> bool:
    """Whether the worker (workers.id) is on duty for the grid."""
    if worker is None or grid_code is None:
        return False
    return any(w[0] == worker for w in dispatch.grid_workers(session, grid_code))


def move_retired_assignments(session: Session, *, share: float = 0.5) -> int:
    """worker_grids rows naming a grid code with no current version move to the current grid
    covering more than `share` of the retired grid's last area (at most one can). Returns how
    many rows moved; ambiguous ones stay."""
    G, WG = models.Grid, models.WorkerGrid
    current = select(G.code).where(G.valid_to.is_(None)).scalar_subquery()
    retired = list(
        session.execute(
            select(WG.grid_code).where(WG.grid_code.not_in(current)).distinct()
        ).scalars()
    )
    moved = 0
    for code in retired:
        last = (
            select(G.geom)
            .where(G.code == code)
            .order_by(G.version.desc())
            .limit(1)
            .scalar_subquery()
        )
        target = (
            session.execute(
                select(G.code)
                .where(G.level == "grid", G.valid_to.is_(None), func.ST_Intersects(G.geom, last))
                .where(
                    func.ST_Area(func.ST_Intersection(G.geom, last)) > share * func.ST_Area(last)
                )
                .order_by(G.code)
            )
            .scalars()
            .all()
        )
        if len(target) != 1:
            continue
        workers = list(session.execute(select(WG.worker_id).where(WG.grid_code == code)).scalars())
        session.execute(
            pg_insert(WG)
            .values([{"worker_id": w, "grid_code": target[0]} for w in workers])
            .on_conflict_do_nothing()
        )
        session.execute(WG.__table__.delete().where(WG.grid_code == code))
        moved += len(workers)
    return moved


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


def now_utc() -> datetime:
    return datetime.now(UTC)
