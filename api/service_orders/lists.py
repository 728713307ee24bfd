"""Lists of orders by who asks: the open orders posted to a volunteer (their grid first, then
nearest), the volunteer's own, and a community's orders for its admin. The resident's phone
number: a volunteer sees it whole only on an order they have taken and not yet finished (to
call at the door); community admins see it for their community; nobody else."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.accounts.roles import Principal, Role
from api.cases import navigation
from api.errors import ForbiddenError
from api.service_orders import catalog, rows, timeouts, volunteers

COLUMNS = """o.id, o.service, o.station_id, s.name AS station_name, o.address, o.note,
       o.grid_code, o.community_code, o.status, o.posted_to, o.created_at, o.taken_by,
       o.taken_at, o.done_at, o.stars, o.resident_phone,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat"""

OPEN_FOR = text(f"""
WITH me AS (
  SELECT v.grid_code, v.community_code, v.skills,
         coalesce(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                  (SELECT ST_PointOnSurface(g.geom) FROM grids g
                    WHERE g.code = v.grid_code AND g.valid_to IS NULL LIMIT 1)) AS at
  FROM volunteers v WHERE v.username = :username
)
SELECT {COLUMNS}, o.grid_code = me.grid_code AS my_grid,
       round(ST_Distance(o.geom::geography, me.at::geography)::numeric, 0)::float AS distance_m
FROM service_orders o JOIN stations s ON s.id = o.station_id CROSS JOIN me
WHERE o.status = 'open'
  AND ((o.grid_code = me.grid_code AND (CAST(:skills AS jsonb) ->> o.service) = ANY(me.skills))
       OR (o.posted_to = 'community' AND o.community_code = me.community_code))
ORDER BY my_grid DESC, distance_m, o.id
LIMIT :limit
""")
TAKEN_BY = text(f"""
SELECT {COLUMNS} FROM service_orders o JOIN stations s ON s.id = o.station_id
WHERE o.taken_by = :username ORDER BY o.status = 'taken' DESC, o.id DESC LIMIT :limit
""")
OF_COMMUNITY = text(f"""
SELECT {COLUMNS} FROM service_orders o JOIN stations s ON s.id = o.station_id
WHERE o.community_code = :community ORDER BY o.id DESC LIMIT :limit
""")


def _out(row, *, phone: str) -> dict:
    """A listed order with its service and status in words; `phone`: whole, masked or none."""
    out = dict(row._mapping)
    spec = catalog.services().get(out["service"], {})
    zh, en = rows.STATUS_TEXT[out["status"]]
    number = out.pop("resident_phone")
    shown = {"whole": number, "masked": rows.masked_phone(number), "none": None}[phone]
    return out | {"service_name": spec.get("name"), "service_name_en": spec.get("name_en"),
                  "skill": spec.get("skill"), "status_text": zh, "status_text_en": en,
                  "resident_phone": shown}  # fmt: skip


def open_for(session: Session, username: str, *, lon: float | None = None,
             lat: float | None = None, limit: int = 50) -> list[dict]:  # fmt: skip
    """Open orders posted to the volunteer: their grid's first, then nearest to lon/lat (their
    position) or else to their grid; no phone numbers."""
    volunteers.volunteer_of(session, username)
    timeouts.sweep(session)
    skills = json.dumps({code: s["skill"] for code, s in catalog.services().items()})
    params = {"username": username, "lon": lon, "lat": lat, "skills": skills, "limit": limit}
    return [_out(r, phone="none") for r in session.execute(OPEN_FOR, params)]


def taken_by(session: Session, username: str, *, limit: int = 50) -> list[dict]:
    """The volunteer's orders, the ones still to do first; the phone whole while taken."""
    volunteers.volunteer_of(session, username)
    found = session.execute(TAKEN_BY, {"username": username, "limit": limit})
    out = [_out(r, phone="whole" if r.status == "taken" else "masked") for r in found]
    for o in out:  # the way there, in the phone's map app
        o["amap"] = navigation.links(o["lon"], o["lat"], name=o["service_name"] or "")["amap"]
    return out


def of_community(session: Session, user: Principal, *, limit: int = 200) -> list[dict]:
    """A community's orders for its admin (the re-posted ones are those they were told of)."""
    if user.role not in (Role.community_admin, Role.admin) or not user.community_code:
        raise ForbiddenError("只有社区管理员可以查看本社区的服务订单 (community admins only)")
    timeouts.sweep(session)
    found = session.execute(OF_COMMUNITY, {"community": user.community_code, "limit": limit})
    return [_out(r, phone="whole") for r in found]
