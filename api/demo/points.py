"""The demo's red points: rewards in the demo community, two residents of it (besides the demo
`resident`), two activities with residents and volunteers, one exchange confirmed and one
waiting for the community admin; all through the service's own functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from api import accounts
from api.demo.accounts import DEMO_PASSWORD
from api.points import activities, exchanges, rewards
from api.points.activities import Participant

REWARDS = (("社区食堂餐券", 15, 50), ("洗衣液一瓶", 20, 30), ("理发服务券", 30, 20),
           ("大米 5 公斤", 60, 10))  # fmt: skip
RESIDENTS = (("resident_zhang", "张秀兰"), ("resident_wang", "王建国"))
# the demo `resident` is named too: the community page shows people by name, not account
NAME_RESIDENT = text("""
UPDATE users SET display_name = '李桂英' WHERE username = 'resident' AND display_name IS NULL
""")
VOLUNTEERS = text("""
SELECT username FROM volunteers WHERE community_code = :c ORDER BY grid_code, username LIMIT 6
""")


def seed_points(session: Session, *, log: Callable[[str], None] = print) -> int:
    """Make the demo's rewards, activities and exchanges; returns the ledger entries made."""
    found = session.execute(text("SELECT 1 FROM users WHERE username = 'community_admin'")).first()
    if found is None:
        log("  no red points demo: the demo has no community admin")
        return 0
    admin = accounts.principal_for(session, "community_admin")
    community = admin.community_code
    session.execute(NAME_RESIDENT)
    for username, name in RESIDENTS:
        accounts.create_user(session, username, "resident", DEMO_PASSWORD, display_name=name,
                             community_code=community, actor="demo-points")  # fmt: skip
    offered = [
        rewards.create_reward(session, admin, community_code=community, name=n, cost=c, stock=s)
        for n, c, s in REWARDS
    ]
    volunteers = _volunteers(session, community)
    today = activities.local_today(session)
    stories = (
        ("楼道清洁日", 9, [("resident", 10), ("resident_zhang", 10), ("resident_wang", None)]),
        ("邻里议事会", 3, [("resident_zhang", 8), ("resident", None)]),
    )
    made = 0
    for name, days_ago, people in stories:
        people = people + [(v, 12) for v in volunteers[: 3 if days_ago > 5 else 6]]
        activities.record_activity(
            session, admin, community_code=community, name=name,
            held_on=today - timedelta(days=days_ago),
            participants=[Participant(u, p) for u, p in people],
        )  # fmt: skip
        made += len(people)
    canteen = offered[0]["id"]
    done = exchanges.request_exchange(session, accounts.principal_for(session, "resident_zhang"),
                                      canteen)  # fmt: skip
    exchanges.decide_exchange(session, admin, done["id"], confirm=True, note="已领取")
    exchanges.request_exchange(session, accounts.principal_for(session, "resident"), canteen)
    log(f"red points: {len(offered)} rewards, 2 activities ({made} awards), 2 exchanges "
        f"(one waiting) in community {community}")  # fmt: skip
    return made + 1


def _volunteers(session: Session, community: str) -> list[str]:
    """The demo volunteers of the community (api/demo/volunteers.py made them before)."""
    return list(session.execute(VOLUNTEERS, {"c": community}).scalars())
