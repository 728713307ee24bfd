"""Transitions through the closed loop: the caller's version is checked on the locked case row,
so of two workers accepting the same case at once exactly one wins and the other gets a 409."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import notifications
from api.accounts import audit
from api.cases import dispatch, reach, workflow
from api.cases.actors import Actor, may_see
from api.cases.intake import category
from api.cases.rows import Case, W, _event, _now, load_case
from api.errors import ConflictError, ForbiddenError, NotFoundError
from api.points import ledger as points
from api.storage import models
from geo.errors import InputError


class IllegalTransition(ConflictError):
    """409 with the actions the caller may take from the case's status."""

    def __init__(self, message: str, allowed: list[str], version: int | None = None) -> None:
        super().__init__(message)
        self.extra = {"allowed": allowed, **({"version": version} if version else {})}


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
    tags: dict | None = None  # kept in the event's data (replay.tags: the Idempotency-Key)


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
    if role in workflow.RESIDENT:
        _check_reporter_window(case, step.action, now)
    changes: dict[str, Any] = {"status": after.status, "supervised": after.supervised}
    data = _effects(session, case, step, actor, changes, now) | (step.tags or {})
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
    if after.status != case.status:
        notifications.queue_status_change(
            session, case, status=after.status, version=case.version + 1
        )
    if step.action == "close" and case.reported_by:  # closed as resolved: the report was true
        points.award_for_case_report(
            session,
            case_id=case_id,
            reporter=case.reported_by,
            grid_code=case.grid_code,
            community_code=case.community_code,
            actor=actor.username,
        )
    return case.version + 1


def _check_reporter_window(case: Any, action: str, now: datetime) -> None:
    """A reporter may reopen only so many days after the case was resolved (a setting)."""
    setting = workflow.REPORTER_WINDOWS.get(action)
    if setting is None or case.resolved_at is None:
        return
    from api.settings import get_settings

    days = float(getattr(get_settings(), setting))
    if now - case.resolved_at > timedelta(days=days):
        msg = (
            f"办结已超过 {days:g} 天，不能再申请重新办理 "
            f"(resolved more than {days:g} days ago: it can no longer be reopened)"
        )
        raise IllegalTransition(
            msg,
            [a for a in workflow.allowed_actions(case.status, "resident") if a != action],
            case.version,
        )


def _effects(
    session: Session, case: Any, step: Step, actor: Actor, changes: dict, now: datetime
) -> dict:
    """Field changes of each action beyond the status; returns the event's details."""
    action, data = step.action, {}
    if action == "accept" and actor.worker_id:
        changes["assignee_id"] = _worker_pk(session, actor.worker_id)[0]
        data["assignee"] = actor.worker_id
    elif action in ("dispatch", "reassign") and changes["status"] == "dispatched":
        target = _assign_target(session, case, step, actor)
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


def _assign_target(session: Session, case: Any, step: Step, actor: Actor) -> dict:
    """assignee_id (and the area codes when the grid changes) for dispatch and reassign, only
    inside the actor's area (ForbiddenError otherwise)."""
    if step.assignee:
        pk, grids = _worker_pk(session, step.assignee)
        out = {"assignee_id": pk, "queue": "grid"}
        if grids:
            grid = case.grid_code if case.grid_code in grids else sorted(grids)[0]
            place = reach.grid_place(session, grid, case)
        else:
            place = reach.worker_place(session, pk)
        reach.check_reach(actor, place)
        if grids and grid != case.grid_code:
            out.update(place)
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
    place = reach.grid_place(session, grid, case)
    reach.check_reach(actor, place)
    pk = dispatch.choose_worker(workers)
    if pk is None:
        msg = f"grid {grid} has no other worker on duty; name an assignee"
        raise InputError(msg)
    return {"assignee_id": pk, "queue": "grid", **(place if grid != case.grid_code else {})}
