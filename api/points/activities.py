"""Activities a community records (志愿服务, 议事, 清洁家园 …): each participant earns points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.points import ledger, people
from api.points.rules import rules
from api.points.scope import check_community
from api.storage.models import PointActivity, PointsEntry
from geo.errors import InputError


@dataclass(frozen=True)
class Participant:
    username: str
    points: int | None = None  # None: the rules' default


def _check(name: str, held_on: date, today: date, participants: list[Participant]) -> None:
    r = rules()
    if not name.strip() or len(name) > 100:
        raise InputError("活动名称不能为空，最多 100 字 (the activity needs a name of 1–100 chars)")
    if held_on > today:
        raise InputError("活动日期不能晚于今天 (the activity date cannot be in the future)")
    if not 1 <= len(participants) <= r.activity_max_participants:
        msg = (
            f"参加人数应为 1–{r.activity_max_participants} 人 "
            f"(name 1–{r.activity_max_participants} participants)"
        )
        raise InputError(msg)
    names = [p.username for p in participants]
    if len(set(names)) != len(names):
        raise InputError("参加人重复 (a participant is named twice)")
    for p in participants:
        if p.points is not None and not 1 <= p.points <= r.activity_max:
            msg = f"每人积分应为 1–{r.activity_max} (points per participant: 1–{r.activity_max})"
            raise InputError(msg)


def local_today(session: Session) -> date:
    """Today in the rules' time zone (a Beijing morning is still yesterday in UTC)."""
    local = func.timezone(rules().timezone, func.now())
    return session.scalar(select(func.date(local)))


def record_activity(
    session: Session,
    actor: Principal,
    *,
    community_code: str,
    name: str,
    held_on: date,
    participants: list[Participant],
) -> int:
    """Record the activity and one ledger entry per participant; returns the activity's id.
    Nothing is written when any participant is unknown (the caller's transaction rolls back)."""
    check_community(session, actor, community_code)
    today = local_today(session)
    _check(name, held_on, today, participants)
    for p in participants:
        people.earner(session, p.username)
    activity_id = session.execute(
        insert(PointActivity)
        .values(
            community_code=community_code,
            name=name.strip(),
            held_on=held_on,
            recorded_by=actor.username,
        )
        .returning(PointActivity.id)
    ).scalar_one()
    for p in participants:
        ledger.add_entry(
            session,
            account=p.username,
            points=p.points or rules().activity_default,
            kind="activity",
            source=f"activity:{activity_id}",
            community_code=community_code,
            grid_code=ledger.volunteer_grid(session, p.username),
            note=name.strip(),
            created_by=actor.username,
        )
    detail = {"after": {"community_code": community_code, "name": name, "held_on": held_on,
                        "participants": [p.username for p in participants]}}  # fmt: skip
    audit.record(session, actor, "points.activity", "point_activity", activity_id, detail)
    return activity_id


def list_activities(session: Session, community_code: str, *, limit: int = 50) -> list[dict]:
    """The community's activities, newest first, with their participants' points."""
    rows = session.scalars(
        select(PointActivity)
        .where(PointActivity.community_code == community_code)
        .order_by(PointActivity.held_on.desc(), PointActivity.id.desc())
        .limit(limit)
    ).all()
    sources = [f"activity:{a.id}" for a in rows]
    entries = session.execute(
        select(PointsEntry.source, PointsEntry.account, PointsEntry.points).where(
            PointsEntry.kind == "activity", PointsEntry.source.in_(sources)
        )
    ).all()
    names = people.display_names(session, sorted({e.account for e in entries}))
    by_source: dict[str, list[dict]] = {}
    for source, account, points in entries:
        by_source.setdefault(source, []).append(
            {"name": names.get(account, account), "points": points}
        )
    return [
        {
            "id": a.id,
            "name": a.name,
            "held_on": a.held_on.isoformat(),
            "recorded_by": a.recorded_by,
            "participants": by_source.get(f"activity:{a.id}", []),
        }
        for a in rows
    ]
