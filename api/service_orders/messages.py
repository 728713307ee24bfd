"""Outbox messages of the timeouts (the notifications table, sent by the notification job): an
order nobody took, re-posted to the whole community, is told to each community admin of the
order's community; an expired order is told to the resident, by SMS to the phone they left,
else on their account's page. One message per order and person (dedupe keys)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.notifications.outbox import queue
from api.service_orders import catalog

#: the message of each timeout, Chinese then English; {id} the order, {name} its service. The
#: admins' has no resident's data (their page has the number).
TEXT = {
    "reposted": (
        "【社区派单】服务订单（编号 {id}，“{name}”）本网格无人接单，已扩大到全社区志愿者。"
        "请在志愿者接单页查看，联系居民或安排志愿者。 / Service order #{id} ({name_en}) was not "
        "taken in its grid and is now posted to the whole community: please call the resident "
        "or ask a volunteer."
    ),
    "expired": (
        "【社区服务】您点的“{name}”（订单编号 {id}）无人接单，已过期。可以再点一单，或联系社区。"
        " / Your order #{id} ({name_en}) expired: nobody took it. You may order again or call "
        "your community."
    ),
}


def message(kind: str, order_id: int, service: str) -> str:
    """The text of `kind` (reposted, expired) about order `order_id` of `service`."""
    spec = catalog.services().get(service, {})
    names = {"name": spec.get("name", service), "name_en": spec.get("name_en", service)}
    return TEXT[kind].format(id=order_id, **names)


def tell_reposted(session: Session, order_id: int, service: str, admins: list[str]) -> int:
    """Queue the re-post to each of `admins` (their page's channel); the number newly queued."""
    body = message("reposted", order_id, service)
    return sum(
        queue(session, f"order:{order_id}:repost:{admin}", service_order_id=order_id,
              channel="app", address=None, username=admin, status="reposted", body=body)
        for admin in admins
    )  # fmt: skip


def tell_expired(
    session: Session, order_id: int, service: str, *, resident: str | None, phone: str | None
) -> bool:
    """Queue the expiry to the resident: SMS to `phone`, else their account's page."""
    return queue(
        session, f"order:{order_id}:expired", service_order_id=order_id,
        channel="sms" if phone else "app", address=phone, username=resident, status="expired",
        body=message("expired", order_id, service),
    )  # fmt: skip
