"""One case row and its history: loading (and locking) a case, appending its events, the clock.

Every change of a case appends a row to case_events (append-only) and raises ``cases.version``
by one; the callers lock the case row (SELECT … FOR UPDATE) before changing it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.storage import models

Case, Event, W = models.Case, models.CaseEvent, models.Worker


def _now(session: Session) -> datetime:
    return session.execute(select(func.clock_timestamp())).scalar_one()


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
