"""Who may do what with points: earners (residents, volunteers) their own; community admins
their community; street admins the communities of their street office; admins everywhere."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.access import street_of
from api.accounts.roles import Principal
from api.errors import ForbiddenError, NotFoundError
from api.storage.models import Community, Street

EARNERS = ("resident", "volunteer")
STAFF = ("community_admin", "street_admin", "admin")


def check_earner(user: Principal) -> None:
    if str(user.role) not in EARNERS:
        msg = f"只有居民和志愿者可以兑换积分 (residents and volunteers only, not {user.role})"
        raise ForbiddenError(msg)


def check_community(session: Session, user: Principal, community_code: str) -> None:
    """ForbiddenError unless `user` looks after `community_code`; NotFoundError for a code
    that is no community."""
    known = session.scalar(select(Community.id).where(Community.code == community_code))
    if known is None:
        msg = f"没有编码为 {community_code} 的社区 (no community {community_code})"
        raise NotFoundError(msg)
    role = str(user.role)
    if role == "admin":
        return
    if role == "community_admin" and user.community_code == community_code:
        return
    street = user.street_code
    if role == "street_admin" and street and street_of(session, community_code) == street:
        return
    msg = (
        f"无权管理社区 {community_code} 的积分 "
        f"({user.role} {user.username} may not manage the points of community {community_code})"
    )
    raise ForbiddenError(msg)


def communities_of(session: Session, user: Principal) -> list[dict]:
    """The communities a staff account looks after, {code, name} (empty for everyone else)."""
    role = str(user.role)
    query = select(Community.code, Community.name).order_by(Community.code)
    if role == "community_admin" and user.community_code:
        query = query.where(Community.code == user.community_code)
    elif role == "street_admin" and user.street_code:
        query = query.join(Street, Street.id == Community.street_id)
        query = query.where(Street.code == user.street_code)
    elif role != "admin":
        return []
    return [{"code": c, "name": n} for c, n in session.execute(query)]
