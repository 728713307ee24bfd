"""GET /api/audit: the audit log, for admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.accounts import Principal, Role, audit
from api.deps import SessionDep, require_roles
from geo.errors import InputError

router = APIRouter(tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any] | None


def _aware(moment: datetime | None) -> datetime | None:
    """Times without a zone are read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/api/audit", response_model=list[AuditOut])
def audit_log(
    session: SessionDep,
    admin: Annotated[Principal, Depends(require_roles(Role.admin))],
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[
        str | None, Query(max_length=32, description="grid, case, user …")
    ] = None,
    object_id: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[datetime | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditOut]:
    """Who changed what, newest first; filters by actor, action, object and time range."""
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and until <= since:
        raise InputError("until must be after since")
    query = audit.AuditQuery(actor, action, object_type, object_id, since, until, limit, offset)
    return [AuditOut.model_validate(e, from_attributes=True) for e in audit.entries(session, query)]
