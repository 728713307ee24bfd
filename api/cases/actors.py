"""Who acts on a case and which cases they may see: one rule for single cases and lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_, select, true

from api.storage import models

Case, W = models.Case, models.Worker
SEES_ALL = frozenset({"admin", "planner"})


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
