"""The red-points ledger: append-only entries, each audited, each (kind, source, account) once.

Every function writes in the caller's transaction and never commits, so an award exists exactly
when the deed it rewards is committed (V1's rating of an order, a case closed as resolved).
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.accounts import audit
from api.points.rules import rules
from api.storage.models import PointsEntry, User, Volunteer, WorkerGrid

UNIQUE = "uq_points_entries_kind_source_account"


def add_entry(
    session: Session,
    *,
    account: str,
    points: int,
    kind: str,
    source: str,
    community_code: str | None = None,
    grid_code: str | None = None,
    note: str | None = None,
    created_by: str | None = None,
) -> int | None:
    """Append one entry and its audit row; None (and nothing written) when that kind and
    source were already counted for `account`, or for zero points."""
    if points == 0:
        return None
    if community_code is None and grid_code:
        community_code = grid_code[:12]
    values = {
        "account": account,
        "points": points,
        "kind": kind,
        "source": source,
        "community_code": community_code,
        "grid_code": grid_code,
        "note": note,
        "created_by": created_by,
    }
    stmt = insert(PointsEntry).values(**values).on_conflict_do_nothing(constraint=UNIQUE)
    entry_id = session.execute(stmt.returning(PointsEntry.id)).scalar()
    if entry_id is None:
        return None
    detail = {"after": {"id": entry_id, **values}}
    audit.record(session, created_by, "points.entry", "points", account, detail)
    return entry_id


def award_for_order(
    session: Session, *, order_id: int, username: str, stars: int, grid_code: str | None = None
) -> int | None:
    """Points for the volunteer `username` who delivered order `order_id`, by its rating
    (rules.toml); exactly once per order. Returns the points written, or None when the order
    was already counted or the rating earns nothing. ValueError for stars outside 1–5."""
    points = rules().order_points(stars)
    grid = grid_code or volunteer_grid(session, username)
    written = add_entry(
        session,
        account=username,
        points=points,
        kind="order",
        source=f"order:{order_id}",
        grid_code=grid,
        note=f"服务订单 {order_id}，{stars} 星",
        created_by="system",
    )
    return points if written is not None else None


def award_for_case_report(
    session: Session,
    *,
    case_id: int,
    reporter: str,
    grid_code: str | None,
    community_code: str | None,
    actor: str | None = None,
) -> int | None:
    """Points for a signed-in resident's (or volunteer's) report that turned out true: called
    when the case is closed after being resolved; once per case. Returns the points written,
    or None (already counted, or the reporter is no resident or volunteer)."""
    role = session.scalar(select(User.role).where(User.username == reporter))
    if role not in ("resident", "volunteer"):
        return None
    points = rules().case_report
    written = add_entry(
        session,
        account=reporter,
        points=points,
        kind="case_report",
        source=f"case:{case_id}",
        community_code=community_code,
        grid_code=grid_code,
        note=f"反映问题属实（事件 {case_id}）",
        created_by=actor or "system",
    )
    return points if written is not None else None


def volunteer_grid(session: Session, username: str) -> str | None:
    """The grid an account serves: a volunteer's registration, else its worker row's first."""
    found = session.scalar(select(Volunteer.grid_code).where(Volunteer.username == username))
    if found:
        return found
    return session.scalar(
        select(func.min(WorkerGrid.grid_code))
        .join(User, User.worker_id == WorkerGrid.worker_id)
        .where(User.username == username)
    )


def lock_account(session: Session, account: str) -> None:
    """Serialise changes to one account's balance until the transaction ends."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"points:{account}"}
    )


def balance(session: Session, account: str) -> int:
    """The account's points: the sum of its entries."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.account == account)
    )
    return int(total or 0)


def history(session: Session, account: str, *, limit: int = 100) -> list[PointsEntry]:
    """The account's entries, newest first."""
    query = (
        select(PointsEntry)
        .where(PointsEntry.account == account)
        .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
