"""What a responsible person sees of the notices sent to them, and their acknowledgement with
the households reached (bounded by the households they answer for)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.accounts import audit
from api.accounts.roles import Principal
from api.errors import NotFoundError
from geo.errors import InputError

# the recipient keys of an account: its own name and the worker row it is linked to
MINE = """
person IN (
    SELECT 'u:' || CAST(:username AS text)
    UNION ALL
    SELECT 'w:' || u.worker_id FROM users u
    WHERE u.username = :username AND u.worker_id IS NOT NULL)
"""

LIST = f"""
SELECT n.id, n.title, n.body, n.level, n.sender, n.sent_at,
       coalesce((SELECT u.display_name FROM users u WHERE u.username = n.sender), n.sender)
           AS sender_name,
       bool_and(r.acknowledged_at IS NOT NULL) AS acknowledged,
       min(r.acknowledged_at) AS acknowledged_at,
       sum(r.households)::int AS households,
       sum(r.households_reached)::int AS households_reached,
       json_agg(json_build_object('area_code', r.area_code, 'role', r.role,
                'households', r.households, 'note', r.note) ORDER BY r.area_code) AS areas
FROM notice_recipients r JOIN notices n ON n.id = r.notice_id
WHERE {MINE}
GROUP BY n.id
ORDER BY bool_and(r.acknowledged_at IS NOT NULL), n.level = 'routine', n.sent_at DESC, n.id DESC
LIMIT :limit
"""


def notices_for(session: Session, user: Principal, *, limit: int = 50) -> list[dict]:
    """The user's notices, unacknowledged first (emergencies first among them), newest next;
    the ones not yet delivered are marked delivered now (the page shows them)."""
    params = {"username": user.username, "limit": limit}
    rows = session.execute(text(LIST), params).mappings().all()
    session.execute(
        text(
            f"UPDATE notice_recipients SET delivered_at = now() "
            f"WHERE delivered_at IS NULL AND {MINE}"
        ),
        params,
    )
    return [dict(r) for r in rows]


def acknowledge(session: Session, user: Principal, notice_id: int, households_reached: int) -> dict:
    """Acknowledge notice `notice_id` for all the areas the user answers for, with the
    households reached spread over them in code order; may be sent again with a new count.
    NotFoundError when the notice was not sent to the user; InputError beyond their households."""
    rows = session.execute(
        text(
            f"SELECT id, households FROM notice_recipients WHERE notice_id = :n AND {MINE} "
            "ORDER BY area_code FOR UPDATE"
        ),
        {"n": notice_id, "username": user.username},
    ).all()
    if not rows:
        raise NotFoundError(f"没有发给您的通知 {notice_id} (no notice {notice_id} for you)")
    total = sum(h for _, h in rows)
    if not 0 <= households_reached <= total:
        raise InputError(
            f"已通知户数应在 0 到 {total} 之间（您负责 {total} 户） "
            f"(households reached must be 0..{total}, the households you answer for)"
        )
    left = households_reached
    for row_id, households in rows:
        share = min(left, households)
        left -= share
        session.execute(
            text(
                "UPDATE notice_recipients SET households_reached = :h, "
                "acknowledged_at = coalesce(acknowledged_at, now()), "
                "delivered_at = coalesce(delivered_at, now()) WHERE id = :id"
            ),
            {"h": share, "id": row_id},
        )
    audit.record(
        session, user, "notice.acknowledge", "notice", notice_id,
        {"households_reached": households_reached, "households": total},
    )  # fmt: skip
    return {"notice_id": notice_id, "households": total, "households_reached": households_reached}
