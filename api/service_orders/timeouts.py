"""Timeouts (the minutes are data: data/catalogs/services.json): an order nobody took by its
repost time is posted to every volunteer of its community and the community admins are told
(an outbox message each); one nobody took by its expiry time expires and the resident is told.
Run lazily before orders are listed or taken, and every minute by job.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.service_orders import messages, rows
from api.storage.models import User

REPOST = text("""
UPDATE service_orders SET posted_to = 'community', updated_at = :now
 WHERE status = 'open' AND posted_to = 'grid' AND repost_at <= :now AND expires_at > :now
RETURNING id, community_code, service
""")
EXPIRE = text("""
UPDATE service_orders SET status = 'expired', closed_at = :now, updated_at = :now
 WHERE status = 'open' AND expires_at <= :now
RETURNING id, service, resident, resident_phone
""")


def community_admins(session: Session, community_code: str) -> list[str]:
    query = select(User.username).where(
        User.role == "community_admin", User.community_code == community_code,
        User.disabled.is_(False),
    )  # fmt: skip
    return list(session.scalars(query.order_by(User.username)))


def sweep(session: Session, *, now: datetime | None = None) -> dict[str, list[int]]:
    """Re-post and expire what is due at `now` (the database clock by default); the ids."""
    now = now or rows.now(session)
    reposted = session.execute(REPOST, {"now": now}).all()
    for order_id, community, service in reposted:
        told = community_admins(session, community)
        rows.event(session, order_id, actor="system", before="open", after="open",
                   action="repost", data={"posted_to": "community", "told": told})  # fmt: skip
        messages.tell_reposted(session, order_id, service, told)
    expired = session.execute(EXPIRE, {"now": now}).all()
    for order_id, service, resident, phone in expired:
        rows.event(session, order_id, actor="system", before="open", after="expired",
                   action="expire")  # fmt: skip
        messages.tell_expired(session, order_id, service, resident=resident, phone=phone)
    return {"reposted": [r.id for r in reposted], "expired": [r.id for r in expired]}
