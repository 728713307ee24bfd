"""The demo's district notice: one routine notice from the demo street admin to their street
office, acknowledged by about half of the people it reached (each with most of their
households), so the notices map shows a spread of shares. The demo grid worker's copy stays
unacknowledged: their phone shows it at the top until they acknowledge it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.accounts import users
from api.errors import UnauthorizedError
from api.notices import Area, send_notice

TITLE = "关于开展燃气安全入户排查的通知"
BODY = (
    "本周内请各网格对辖区住户开展燃气安全入户排查，重点检查软管老化、私接乱改和通风情况；"
    "发现隐患当场告知并上报。请确认收到，并填写已通知到的户数。"
)


def seed_notices(session: Session, *, log: Callable[[str], None] = print) -> int | None:
    """Send the demo notice and acknowledge part of it; returns its id (None without a
    street admin)."""
    try:
        sender = users.principal_for(session, "street_admin")
    except UnauthorizedError:  # the dataset gave no area for a street admin
        sender = None
    if sender is None or not sender.street_code:
        log("  no demo notice: no street_admin account")
        return None
    area = Area(streets=[sender.street_code])
    sent = send_notice(session, sender, title=TITLE, body=BODY, level="routine", area=area)
    # every other person acknowledges (not the demo grid worker), reaching 60–100 % of theirs
    session.execute(
        text(
            "WITH people AS ("
            "  SELECT person, row_number() OVER (ORDER BY person) AS k FROM notice_recipients"
            "  WHERE notice_id = :n AND person NOT IN ("
            "    SELECT 'w:' || worker_id FROM users WHERE username = 'grid_worker'"
            "    AND worker_id IS NOT NULL)"
            "  GROUP BY person)"
            "UPDATE notice_recipients r SET acknowledged_at = n.sent_at + make_interval("
            "  mins => (p.k % 50)::int), delivered_at = n.sent_at,"
            "  households_reached = (r.households * (0.6 + (p.k % 5) * 0.1))::int "
            "FROM people p, notices n WHERE r.notice_id = :n AND n.id = :n "
            "AND p.person = r.person AND p.k % 2 = 0"
        ),
        {"n": sent.id},
    )
    log(f"  demo notice {sent.id}: {sent.grids} grids, {sent.people} people, half acknowledged")
    return sent.id
