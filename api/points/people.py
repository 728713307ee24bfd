"""The accounts that earn points: who they are, where they belong, how they are named."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.points.scope import EARNERS
from api.storage.models import Community, PointsEntry, User, Volunteer
from geo.grids.edit.messages import grid_name


def earner(session: Session, username: str) -> User:
    """The enabled resident or volunteer account `username` (NotFoundError otherwise)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled or user.role not in EARNERS:
        msg = f"没有名为 {username!r} 的居民或志愿者账号 (no resident or volunteer {username!r})"
        raise NotFoundError(msg)
    return user


def display_names(session: Session, usernames: list[str]) -> dict[str, str]:
    """{username: the name shown} (the display name, else the account name)."""
    if not usernames:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(usernames))
    )
    return {u: (d or u) for u, d in rows}


def grid_names(session: Session, codes: list[str | None]) -> dict:
    """{grid code: 社区 + 第N网格, the name people use} (None for no code)."""
    wanted = {c[:12] for c in codes if c}
    rows = session.execute(select(Community.code, Community.name).where(Community.code.in_(wanted)))
    communities = dict(rows.all())
    return {c: grid_name(c, "grid", communities.get(c[:12])) if c else None for c in codes}


def of_community(session: Session, community_code: str) -> list[dict]:
    """Residents and volunteers who belong to the community (account or volunteer record),
    for the activity form: name, role, grid."""
    found: dict[str, dict] = {}
    rows = session.execute(
        select(Volunteer.username, Volunteer.grid_code).where(
            Volunteer.community_code == community_code, Volunteer.active.is_(True)
        )
    )
    found.update({u: {"username": u, "role": "volunteer", "grid_code": g} for u, g in rows})
    rows = session.execute(
        select(User.username, User.role).where(
            User.community_code == community_code, User.role.in_(EARNERS), User.disabled.is_(False)
        )
    )
    for username, role in rows:
        found.setdefault(username, {"username": username, "role": role, "grid_code": None})
    names = display_names(session, list(found))
    grids = grid_names(session, [p["grid_code"] for p in found.values()])
    return [
        found[u] | {"name": names.get(u, u), "grid_name": grids[found[u]["grid_code"]]}
        for u in sorted(found)
    ]


def communities_of_account(session: Session, username: str) -> list[str]:
    """Where an account belongs or earned points: its own community, its volunteer
    registration's, and those of its ledger entries."""
    own = select(User.community_code).where(User.username == username)
    registered = select(Volunteer.community_code).where(Volunteer.username == username)
    earned = select(PointsEntry.community_code).where(PointsEntry.account == username)
    rows = session.execute(own.union(registered, earned)).scalars()
    return sorted(c for c in rows if c)
