"""Volunteers (志愿者): an account with the role `volunteer`, its grid, kind and skills. Party
members who reported to their residential community (双报到), building leads (楼栋长) and
volunteers; orders of their grid needing one of their skills are posted to them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import any_, select, update
from sqlalchemy.orm import Session

from api.accounts import audit
from api.errors import ForbiddenError, NotFoundError
from api.notices.leads import lead_buildings
from api.service_orders.catalog import check_skills
from api.storage.models import VOLUNTEER_KINDS, Community, Grid, User, Volunteer
from geo.errors import InputError
from geo.grids.edit.messages import grid_name

KIND_NAMES = {"party_member": "党员（双报到）", "building_lead": "楼栋长", "volunteer": "志愿者"}
KIND_NAMES_EN = {"party_member": "party member (reported to the community)",
                 "building_lead": "building lead", "volunteer": "volunteer"}  # fmt: skip


def register(
    session: Session,
    username: str,
    *,
    grid_code: str,
    kind: str,
    skills: list[str],
    actor: str | None,
    buildings: Sequence[str] = (),
) -> dict:
    """Make the volunteer account `username` serve `grid_code` (a current grid) with `kind`
    and `skills`; its community becomes the grid's; a building lead's `buildings` (ids or
    addresses, in the grid). Audited."""
    if kind not in VOLUNTEER_KINDS:
        msg = f"未知的志愿者类别 {kind!r}；可选：{', '.join(VOLUNTEER_KINDS)} (unknown kind)"
        raise InputError(msg)
    skills = check_skills(skills)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"没有账号 {username!r} (no user {username!r})")
    if user.role != "volunteer":
        msg = f"账号 {username} 的角色是 {user.role}，不是 volunteer (not a volunteer account)"
        raise InputError(msg)
    community = session.scalar(
        select(Community.code)
        .join(Grid, Grid.community_id == Community.id)
        .where(Grid.code == grid_code, Grid.level == "grid", Grid.valid_to.is_(None))
    )
    if community is None:
        msg = f"没有编码为 {grid_code!r} 的现行网格 (no current grid {grid_code!r})"
        raise InputError(msg)
    if buildings and kind != "building_lead":
        msg = "只有楼栋长（building_lead）可以登记楼栋 (--building is for building leads)"
        raise InputError(msg)
    building_ids = lead_buildings(session, list(buildings), grid_codes=[grid_code])
    values = {"grid_code": grid_code, "community_code": community, "kind": kind,
              "skills": skills, "active": True, "building_ids": building_ids}  # fmt: skip
    existing = session.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    if existing is None:
        session.add(Volunteer(user_id=user.id, username=username, **values))
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    session.execute(update(User).where(User.id == user.id).values(community_code=community))
    session.flush()
    audit.record(session, actor, "volunteer.register", "volunteer", username, {"after": values})
    return {"username": username, **values}


def volunteer_of(session: Session, username: str) -> Volunteer:
    """The active volunteer row of `username`; ForbiddenError when there is none."""
    found = session.scalar(
        select(Volunteer).where(Volunteer.username == username, Volunteer.active.is_(True))
    )
    if found is None:
        msg = f"{username} 还没有登记为志愿者 (not a registered volunteer)"
        raise ForbiddenError(msg)
    return found


def recipients(session: Session, *, grid_code: str, community_code: str, skill: str,
               posted_to: str) -> list[str]:  # fmt: skip
    """Who an order is posted to: the grid's active volunteers with `skill`, or, once
    re-posted, every active volunteer of the community."""
    query = select(Volunteer.username).where(Volunteer.active.is_(True))
    if posted_to == "grid":
        query = query.where(Volunteer.grid_code == grid_code, skill == any_(Volunteer.skills))
    else:
        query = query.where(Volunteer.community_code == community_code)
    return list(session.scalars(query.order_by(Volunteer.username)))


def create_volunteer(
    session: Session,
    username: str,
    password: str,
    *,
    grid_codes: Sequence[str],
    kind: str,
    skills: list[str],
    display_name: str | None = None,
    actor: str | None,
    buildings: Sequence[str] = (),
):
    """A volunteer account and its registration in one go (`wangge users add --role
    volunteer`, the demo); exactly one grid. Returns the Principal, its grid listed."""
    from api.accounts import create_user, principal_for

    if len(grid_codes) != 1:
        raise InputError("志愿者账号需要且只能有一个 --grid CODE (a volunteer needs one --grid)")
    create_user(session, username, "volunteer", password, display_name=display_name, actor=actor)
    register(session, username, grid_code=grid_codes[0], kind=kind, skills=skills, actor=actor,
             buildings=buildings)  # fmt: skip
    principal = principal_for(session, username)
    principal.grid_codes = list(grid_codes)
    return principal


def profile(session: Session, username: str) -> dict:
    """The volunteer's own card: grid (by its community's name and number), kind, skills."""
    v = volunteer_of(session, username)
    community = session.scalar(select(Community.name).where(Community.code == v.community_code))
    name = grid_name(v.grid_code, "grid", community or v.community_code)
    return {"username": v.username, "grid_code": v.grid_code, "grid_name": name,
            "community_code": v.community_code, "kind": v.kind,
            "kind_name": KIND_NAMES[v.kind], "kind_name_en": KIND_NAMES_EN[v.kind],
            "skills": list(v.skills)}  # fmt: skip
