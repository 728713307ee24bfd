"""The demo's volunteers and service orders: the account `volunteer` (password DEMO_PASSWORD)
in the demo grid worker's grid with every skill, three more volunteers per grid of that
community (a party member, a building lead, a volunteer, with two skills each), and sample
orders at buildings of that grid in each state (open, re-posted, taken, done, rated, expired,
cancelled), made through the same functions the service uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from api import accounts
from api.demo.accounts import DEMO_PASSWORD
from api.service_orders import catalog, flow, orders, rows, timeouts, volunteers
from api.storage.models import ServiceOrder

MORE = (  # suffix, kind, skills, display name
    ("a", "party_member", ["助老", "陪诊"], "党员志愿者"),
    ("b", "building_lead", ["维修", "代办"], "楼栋长"),
    ("c", "volunteer", ["托育", "助老"], "志愿者"),
)
MAX_GRIDS = 6
# the sample orders: what happens to each after it is placed
STORY = ("open", "open", "repost", "taken", "done", "rated", "expired", "cancelled")
NOTES = {"助老": "老人独居，想请人陪着聊聊天", "维修": "卫生间水龙头一直滴水",
         "代办": "帮忙去社区办一下老年卡", "陪诊": "周四上午去医院复查，需要有人陪同",
         "托育": "下午临时加班，孩子放学后需要照看"}  # fmt: skip

GRIDS = text("""
SELECT code FROM grids WHERE level = 'grid' AND valid_to IS NULL AND substr(code, 1, 12) = :c
ORDER BY code LIMIT :n
""")
# a building lead's buildings: the grid's two largest (its members, by households)
LEAD_BUILDINGS = text("""
SELECT m->>0 FROM grids g CROSS JOIN LATERAL jsonb_array_elements(g.members) m
WHERE g.code = :g AND g.valid_to IS NULL ORDER BY (m->>1)::int DESC, m->>0 LIMIT 2
""")
PLACES = text("""
SELECT ST_X(b.location) AS lon, ST_Y(b.location) AS lat, b.address
FROM buildings b JOIN grids g ON ST_Contains(g.geom, b.location)
WHERE g.code = :g AND g.valid_to IS NULL
ORDER BY b.households DESC, b.id LIMIT :n
""")


def seed_volunteers(session: Session, *, log: Callable[[str], None] = print) -> int:
    """Make the demo volunteers and sample orders; returns the number of orders."""
    worker = accounts.principal_for(session, "grid_worker") if _exists(session) else None
    if worker is None or not worker.grid_codes:
        log("  no volunteer demo account: the demo has no grid worker's grid")
        return 0
    home = worker.grid_codes[0]
    volunteers.create_volunteer(
        session, "volunteer", DEMO_PASSWORD, grid_codes=[home], kind="party_member",
        skills=list(catalog.skills()), display_name="志愿者（演示）", actor="demo",
    )  # fmt: skip
    grids = list(session.execute(GRIDS, {"c": home[:12], "n": MAX_GRIDS}).scalars())
    for grid in grids:
        owned = list(session.execute(LEAD_BUILDINGS, {"g": grid}).scalars())
        for suffix, kind, skills, name in MORE:
            volunteers.create_volunteer(
                session, f"vol{grid[-3:]}{suffix}", DEMO_PASSWORD, grid_codes=[grid],
                kind=kind, skills=skills, display_name=f"{name}{grid[-3:]}{suffix}",
                actor="demo-volunteers",
                buildings=owned if kind == "building_lead" else (),
            )  # fmt: skip
    made = _sample_orders(session, home)
    log(f"volunteers: 'volunteer' and {len(grids) * len(MORE)} more in {len(grids)} grids; "
        f"{made} sample service orders in grid {home}")  # fmt: skip
    return made


def _exists(session: Session) -> bool:
    found = session.execute(text("SELECT 1 FROM users WHERE username = 'grid_worker'")).first()
    return found is not None


def _sample_orders(session: Session, grid: str) -> int:
    places = session.execute(PLACES, {"g": grid, "n": len(STORY)}).all()
    if not places:
        return 0
    made = 0
    for i, step in enumerate(STORY):
        lon, lat, address = places[i % len(places)]
        stations = catalog.near(session, lon=lon, lat=lat, limit=3)
        offered = [(s["id"], svc) for s in stations for svc in s["services"]]
        if not offered:
            return made
        station_id, svc = offered[i % len(offered)]
        new = orders.NewOrder(service=svc["code"], station_id=station_id, lon=lon, lat=lat,
                              address=address, phone=f"1380000{1000 + i}",
                              note=NOTES.get(svc["skill"]))  # fmt: skip
        placed = orders.place(session, new, resident=None, database_url=None, tolerance_m=50.0)
        _advance(session, placed["id"], step)
        made += 1
    return made


def _advance(session: Session, order_id: int, step: str) -> None:
    """Take the order as far as `step` through the service's own functions."""
    if step in ("repost", "expired"):  # as if its minutes had passed
        past = rows.now(session) - timedelta(minutes=1)
        due = {"repost_at": past} | ({"expires_at": past} if step == "expired" else {})
        session.execute(update(ServiceOrder).where(ServiceOrder.id == order_id).values(**due))
        timeouts.sweep(session)
        return
    if step in ("taken", "done", "rated"):
        flow.take(session, order_id, "volunteer")
    if step in ("done", "rated"):
        flow.done(session, order_id, "volunteer")
    if step == "rated":
        order = rows.load(session, order_id)
        orders.confirm(session, order, stars=5, comment="来得很及时，态度很好，谢谢！")
    if step == "cancelled":
        orders.cancel(session, rows.load(session, order_id), actor="resident")
