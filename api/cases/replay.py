"""Retried steps under one Idempotency-Key: a phone that sent a transition or a photo and lost
the answer sends it again with the same key, and the case records it once.

The key and a hash of the request live in the step's event (`case_events.data`); the case row
is locked first, so two copies of one request arriving together are served one after the other.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases.rows import load_case
from api.errors import ConflictError
from api.storage import models

Event = models.CaseEvent


def fingerprint(body: Any) -> str:
    """SHA-256 of a request body (JSON-ready values, or bytes)."""
    raw = body if isinstance(body, bytes) else json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(raw if isinstance(raw, bytes) else raw.encode()).hexdigest()


def tags(key: str | None, request_hash: str) -> dict:
    """What the step's event keeps of the key (nothing without one)."""
    return {"idempotency_key": key, "request_hash": request_hash} if key else {}


def earlier(
    session: Session, case_id: int, key: str | None, request_hash: str, *, actor: str
) -> dict | None:
    """The event data of the step already taken under `key` on this case, or None.

    Locks the case row. ConflictError when the key came with a different request or from
    someone else."""
    if not key:
        return None
    load_case(session, case_id, lock=True)
    row = session.execute(
        select(Event.actor, Event.data)
        .where(Event.case_id == case_id, Event.data["idempotency_key"].astext == key)
        .order_by(Event.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    if row.actor != actor or row.data.get("request_hash") != request_hash:
        msg = (
            f"Idempotency-Key 已用于另一个请求 (the Idempotency-Key {key!r} was used for a "
            f"different request on case {case_id})"
        )
        raise ConflictError(msg)
    return row.data
