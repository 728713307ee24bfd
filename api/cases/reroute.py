"""Re-routing after grid redraws: open cases follow their point into the new grid or
micro-grid, and worker assignments follow retired grid codes to the grids that replaced them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from api.cases import dispatch, workflow
from api.cases.rows import Case, _event, _now, load_case
from api.storage import models


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
