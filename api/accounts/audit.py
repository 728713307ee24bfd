"""The audit log: who changed what (grids, cases, users), append-only in PostgreSQL.

`record` adds one row in the caller's transaction (never commits), so an audit entry exists
exactly when the change it describes is committed. A trigger refuses UPDATE and DELETE on
audit_log (migration 0004).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.accounts.roles import Principal
from api.storage.models import AuditEntry

MAX_DETAIL_CHARS = 20_000


def _actor_name(actor: Principal | str | None) -> str | None:
    if isinstance(actor, Principal):
        return actor.username
    return actor


def _json_ready(detail: Any) -> Any:
    """A JSON round trip (dates, decimals, tuples → strings/lists); oversized detail is cut to a
    note with its size, so an audit row never fails for being large."""
    if detail is None:
        return None
    text = json.dumps(detail, ensure_ascii=False, default=str)
    if len(text) > MAX_DETAIL_CHARS:
        return {"truncated": True, "chars": len(text), "head": text[:2000]}
    return json.loads(text)


def record(
    session: Session,
    actor: Principal | str | None,
    action: str,
    obj_type: str,
    obj_id: str | int | None,
    detail: dict | None = None,
) -> None:
    """Append one audit row: `action` (e.g. "grids.save", "case.transition") by `actor` on the
    object (`obj_type`, `obj_id`), with a JSON summary such as {"before": …, "after": …}."""
    session.execute(
        insert(AuditEntry).values(
            actor=_actor_name(actor),
            action=action,
            object_type=obj_type,
            object_id=None if obj_id is None else str(obj_id),
            detail=_json_ready(detail),
        )
    )


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def entries(session: Session, q: AuditQuery) -> list[AuditEntry]:
    """Audit rows matching the filters, newest first (`since` inclusive, `until` exclusive)."""
    query = select(AuditEntry)
    if q.actor is not None:
        query = query.where(AuditEntry.actor == q.actor)
    if q.action is not None:
        query = query.where(AuditEntry.action == q.action)
    if q.object_type is not None:
        query = query.where(AuditEntry.object_type == q.object_type)
    if q.object_id is not None:
        query = query.where(AuditEntry.object_id == q.object_id)
    if q.since is not None:
        query = query.where(AuditEntry.at >= q.since)
    if q.until is not None:
        query = query.where(AuditEntry.at < q.until)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return list(session.scalars(query.limit(q.limit).offset(q.offset)))


def layer_authors(session: Session, community: str) -> dict[int, tuple[str | None, str]]:
    """Who wrote each version of a community's grid layer and how: {version: (actor, action)}
    from the audit rows of saved edits and generation runs (the latest row per version)."""
    version = AuditEntry.detail["after"]["version"].astext
    rows = session.execute(
        select(version, AuditEntry.actor, AuditEntry.action)
        .where(
            AuditEntry.object_type == "grids",
            AuditEntry.object_id == community,
            version.regexp_match("^[0-9]{1,9}$"),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    return {int(v): (actor, action) for v, actor, action in rows}
