"""The sender job: takes due messages with SELECT … FOR UPDATE SKIP LOCKED (so several
processes share the outbox without sending one message twice), sends each, and sets sent_at in
the same transaction; a failure is retried later with exponential backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.notifications.senders import Sender
from api.storage import models

N = models.Notification
log = logging.getLogger("wangge.notifications")


def send_due(
    sessions: Callable[[], Session],
    senders: Mapping[str, Sender],
    *,
    batch: int = 20,
    max_attempts: int = 8,
    backoff_s: float = 30.0,
) -> tuple[int, int]:
    """Send up to `batch` due messages in one transaction; returns (sent, failed)."""
    sent = failed = 0
    with sessions() as session, session.begin():
        now = session.execute(select(func.clock_timestamp())).scalar_one()
        due = (
            select(N)
            .where(N.sent_at.is_(None), N.next_attempt_at <= now, N.attempts < max_attempts)
            .order_by(N.next_attempt_at, N.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        for note in session.execute(due).scalars().all():
            note.attempts += 1
            sender = senders.get(note.channel)
            try:
                if sender is None:
                    raise RuntimeError(f"no sender for channel {note.channel!r}")
                sender.send(note)
            except Exception as exc:  # any failure: retried later, never lost
                failed += 1
                note.last_error = str(exc)[:500]
                note.next_attempt_at = now + timedelta(seconds=backoff_s * 2 ** (note.attempts - 1))
                continue
            note.sent_at, note.last_error = now, None
            sent += 1
    return sent, failed


async def run(sessions: Callable[[], Session], senders: Mapping[str, Sender], settings: Any):
    """Poll the outbox until cancelled (started by the app's lifespan, one per process)."""
    while True:
        try:
            sent, _ = await asyncio.to_thread(
                send_due, sessions, senders, max_attempts=settings.notify_max_attempts,
                backoff_s=settings.notify_backoff_s,
            )  # fmt: skip
        except Exception:  # the database away for a moment: try again next round
            log.warning("notification job: round failed", exc_info=True)
            sent = 0
        if not sent:
            await asyncio.sleep(settings.notify_poll_s)
