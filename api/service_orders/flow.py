"""The volunteer's side (党员接单): taking an open order, exactly once however many try at the
same moment (one conditional UPDATE … RETURNING), and marking it done."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.errors import ConflictError, ForbiddenError
from api.service_orders import catalog, rows, timeouts, volunteers

# the order is still open, and the volunteer may take it: their grid with the skill the service
# needs, or (once re-posted) their community
TAKE = text("""
UPDATE service_orders o
   SET status = 'taken', taken_by = v.username, taken_at = clock_timestamp(),
       updated_at = clock_timestamp()
  FROM volunteers v
 WHERE o.id = :order_id AND o.status = 'open' AND v.username = :username AND v.active
   AND ((o.grid_code = v.grid_code AND (CAST(:skills AS jsonb) ->> o.service) = ANY(v.skills))
        OR (o.posted_to = 'community' AND o.community_code = v.community_code))
RETURNING o.id
""")
DONE = text("""
UPDATE service_orders
   SET status = 'done', done_at = clock_timestamp(), updated_at = clock_timestamp()
 WHERE id = :order_id AND status = 'taken' AND taken_by = :username
RETURNING id
""")


def _skills() -> str:
    return json.dumps({code: s["skill"] for code, s in catalog.services().items()})


def take(session: Session, order_id: int, username: str) -> dict:
    """The volunteer `username` takes open order `order_id`; 409 when someone was first,
    403 when it is not posted to them."""
    volunteers.volunteer_of(session, username)
    timeouts.sweep(session)
    params = {"order_id": order_id, "username": username, "skills": _skills()}
    if session.execute(TAKE, params).first() is None:
        order = rows.load(session, order_id)
        if order.status != "open":
            zh, _ = rows.STATUS_TEXT[order.status]
            raise ConflictError(f"手慢了：该订单{zh} (the order is no longer open: {order.status})")
        raise ForbiddenError("该订单不在您的网格或不需要您的技能 (not posted to you)")
    rows.event(session, order_id, actor=username, before="open", after="taken", action="take")
    return {"id": order_id, "status": "taken", "taken_by": username}


def done(session: Session, order_id: int, username: str) -> dict:
    """The volunteer who took the order marks it done; the resident is asked to confirm."""
    if session.execute(DONE, {"order_id": order_id, "username": username}).first() is None:
        order = rows.load(session, order_id)
        if order.taken_by != username:
            raise ForbiddenError("只有接单的志愿者可以标记完成 (only the volunteer who took it)")
        zh, _ = rows.STATUS_TEXT[order.status]
        raise ConflictError(f"订单当前状态为“{zh}”，不能标记完成 (order is {order.status})")
    rows.event(session, order_id, actor=username, before="taken", after="done", action="done")
    return {"id": order_id, "status": "done"}
