"""Who may redraw which grids: planners and admins everywhere, street admins in their street
office's communities, community admins in their own community; nobody else."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.roles import Principal, Role
from api.errors import ForbiddenError
from api.storage.models import Community, Street

GRID_EDIT_ROLES = (Role.planner, Role.admin, Role.street_admin, Role.community_admin)


def street_of(session: Session, community_code: str) -> str | None:
    """The 9-digit code of the community's street office, or None."""
    query = (
        select(Street.code)
        .join(Community, Community.street_id == Street.id)
        .where(Community.code == community_code)
    )
    return session.scalar(query)


def check_community(session: Session, user: Principal, community_code: str) -> None:
    """ForbiddenError unless `user` may edit the grids of `community_code`."""
    if user.role in (Role.planner, Role.admin):
        return
    if user.role is Role.community_admin and user.community_code == community_code:
        return
    street = user.street_code
    if user.role is Role.street_admin and street and street_of(session, community_code) == street:
        return
    msg = f"{user.role} {user.username} may not edit the grids of community {community_code}"
    raise ForbiddenError(msg)


def check_grid_codes(session: Session, user: Principal, codes: Iterable[str]) -> None:
    """ForbiddenError unless `user` may edit every grid in `codes` (its community: 12 digits)."""
    for community_code in sorted({code[:12] for code in codes}):
        check_community(session, user, community_code)
