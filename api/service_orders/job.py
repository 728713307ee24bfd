"""The timeouts' clock: every minute, re-post and expire what is due (timeouts.sweep), so a
community admin hears of an order nobody took even when nobody opens a list. One per process;
two processes sweeping at once do each change once (the UPDATEs are conditional)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from api.service_orders import timeouts

log = logging.getLogger("wangge.service_orders")
EVERY_S = 60.0


def sweep_once(sessions: Callable[[], Session]) -> dict[str, list[int]]:
    with sessions() as session, session.begin():
        return timeouts.sweep(session)


async def run(sessions: Callable[[], Session], *, every_s: float = EVERY_S) -> None:
    """Sweep every `every_s` seconds until cancelled (started by the app's lifespan)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            due = await asyncio.to_thread(sweep_once, sessions)
        except Exception:  # the database away for a moment: try again next round
            log.warning("service-order timeouts: round failed", exc_info=True)
            continue
        if due["reposted"] or due["expired"]:
            log.info("service orders re-posted %s, expired %s", due["reposted"], due["expired"])
