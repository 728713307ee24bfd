"""Sending a notice: who may, the emergency confirmation, the notice row, its fan-out and
outbox messages and the audit entry, all in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.notices.area import Area, check_sender, resolve
from api.notices.fanout import fan_out
from api.storage.models import NOTICE_LEVELS, Notice
from geo.errors import InputError

LEVEL_NAMES = {"routine": ("通知", "notice"), "emergency": ("紧急通知", "EMERGENCY notice")}


@dataclass(frozen=True)
class Sent:
    id: int
    grids: int
    people: int
    sent_at: str


def message(level: str, title: str, body: str) -> str:
    """The outbox text: 【网格·紧急通知】title: body, then a line in English."""
    zh, en = LEVEL_NAMES[level]
    return f"【网格·{zh}】{title}：{body} / {en}: open the grid app to acknowledge it."


def send_notice(
    session: Session,
    user: Principal,
    *,
    title: str,
    body: str,
    level: str,
    area: Area,
    confirm: bool = False,
) -> Sent:
    """Send a notice to every responsible person of `area`. InputError for a bad level, an
    empty area or an emergency not confirmed; ForbiddenError outside the sender's area."""
    if level not in NOTICE_LEVELS:
        raise InputError(f"未知的通知级别 {level!r}，应为 routine 或 emergency (unknown level)")
    grids = resolve(session, area)
    check_sender(user, area, grids)
    if level == "emergency" and not confirm:
        raise InputError(
            f"紧急通知将立即发给 {len(grids)} 个网格的全部责任人，请确认后再发送 "
            f"(an emergency notice to {len(grids)} grids needs confirm: true)"
        )
    codes = [code for code, _, _ in grids]
    geom = None if area.polygon is None else _multi(area.polygon).wkt
    notice_id, sent_at = session.execute(
        insert(Notice)
        .values(
            title=title,
            body=body,
            level=level,
            area=area.as_json(),
            grid_codes=codes,
            sender=user.username,
            geom=None if geom is None else f"SRID=4326;{geom}",
        )
        .returning(Notice.id, Notice.sent_at)
    ).one()
    people = fan_out(session, notice_id, codes, level=level, body=message(level, title, body))
    audit.record(
        session, user, "notice.send", "notice", notice_id,
        {"level": level, "title": title, "area": area.as_json(), "grids": len(codes),
         "people": people},
    )  # fmt: skip
    return Sent(notice_id, len(codes), people, sent_at.isoformat())


def _multi(geom):
    from shapely.geometry import MultiPolygon

    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon([geom])


def notice(session: Session, notice_id: int) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.id == notice_id))
