"""One order's row and history: loading by id or receipt, events, the public status words and
what each role sees of the resident's phone number."""

from __future__ import annotations

import secrets

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.accounts import audit
from api.cases.queries import mask_contacts
from api.errors import NotFoundError
from api.storage.models import ServiceOrder, ServiceOrderEvent

STATUS_TEXT = {
    "open": ("待接单", "waiting for a volunteer"),
    "taken": ("志愿者已接单", "taken by a volunteer"),
    "done": ("志愿者已完成，请确认", "done: please confirm"),
    "confirmed": ("已确认完成", "confirmed"),
    "rated": ("已评价", "rated"),
    "expired": ("无人接单，已过期", "expired: nobody took it"),
    "cancelled": ("已取消", "cancelled"),
}
ACTION_TEXT = {
    "place": ("已下单", "ordered"),
    "repost": ("已扩大到全社区志愿者", "posted to the whole community"),
    "take": ("志愿者已接单", "taken by a volunteer"),
    "done": ("志愿者标记完成", "marked done"),
    "confirm": ("居民确认完成", "confirmed by the resident"),
    "rate": ("居民已评价", "rated by the resident"),
    "expire": ("无人接单，已过期", "expired"),
    "cancel": ("已取消", "cancelled"),
}
OPEN_STATES = ("open", "taken")


def now(session: Session):
    return session.execute(select(func.clock_timestamp())).scalar_one()


def new_receipt() -> str:
    return secrets.token_urlsafe(16)[:22]


def event(session: Session, order_id: int, *, actor: str | None, before: str | None,
          after: str, action: str, data: dict | None = None) -> None:  # fmt: skip
    """Append the change to the order's events and the audit log, in the caller's transaction."""
    session.execute(insert(ServiceOrderEvent).values(
        order_id=order_id, actor=actor, from_status=before, to_status=after, action=action,
        data=data,
    ))  # fmt: skip
    detail = {"before": {"status": before}, "after": {"status": after, **(data or {})}}
    audit.record(session, actor, f"service_order.{action}", "service_order", order_id, detail)


def load(session: Session, order_id: int, *, lock: bool = False) -> ServiceOrder:
    query = select(ServiceOrder).where(ServiceOrder.id == order_id)
    order = session.scalar(query.with_for_update() if lock else query)
    if order is None:
        raise NotFoundError(f"没有编号为 {order_id} 的服务订单 (no service order {order_id})")
    return order


def by_receipt(session: Session, receipt: str, *, lock: bool = False) -> ServiceOrder:
    """The order a receipt opens (compared in constant time); NotFoundError otherwise."""
    query = select(ServiceOrder).where(ServiceOrder.receipt == receipt)
    order = session.scalar(query.with_for_update() if lock else query)
    if order is None or not secrets.compare_digest(order.receipt.encode(), receipt.encode()):
        raise NotFoundError("回执无效 (no service order with this receipt)")
    return order


def masked_phone(phone: str | None) -> str | None:
    """138******78: the same masking as case reporters' numbers."""
    if not phone:
        return phone
    masked = mask_contacts(phone)
    return masked if masked != phone else phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:]


def events(session: Session, order_id: int) -> list[dict]:
    """The order's steps, oldest first, in words (no actors: the resident's timeline)."""
    rows = session.execute(
        select(ServiceOrderEvent.at, ServiceOrderEvent.action, ServiceOrderEvent.to_status)
        .where(ServiceOrderEvent.order_id == order_id)
        .order_by(ServiceOrderEvent.at, ServiceOrderEvent.id)
    )
    out = []
    for at, action, status in rows:
        zh, en = ACTION_TEXT.get(action, (action, action))
        out.append({"at": at, "action": action, "status": status, "text": zh, "text_en": en})
    return out
