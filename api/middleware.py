"""Request limits as plain ASGI middleware: body size (413), per-client rate limits (429) and
requests in progress (503 when the service is saturated); security headers on every answer.

Body size: a declared Content-Length over the limit is refused before anything is read; a
body without one (chunked) is read up to the limit and refused as soon as it goes over.
Multipart bodies (photo uploads) get their own, larger limit. The whole body is read here,
outside the in-flight slots and within `read_timeout_s` (408 after it), so clients that send
slowly hold only their own connection, never a slot other requests need.

Rate limits: one token bucket per (principal, route group) for the public groups below; a
request that finds its bucket empty gets 429 with Retry-After (seconds). The principal is the
signed-in account or API token when the bearer credential verifies (their own quota, never
their address's), else the client IP. With `shared` (the default) the buckets live in
PostgreSQL (api/storage/rate_buckets.py), so several worker processes count against one
limit; if that table cannot be used, each process counts on its own in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio

from api.accounts.quota import MISSING, Quotas
from api.storage import rate_buckets
from maps.nonce import CSP_NONCE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _reply(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` (`max_upload_bytes` for multipart) with 413, and
    bodies not sent whole within `read_timeout_s` with 408; hand the app the body read."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int, read_timeout_s: float = 30.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.read_timeout_s = read_timeout_s

    def limit_for(self, scope: Scope) -> int:
        kind = (_header(scope, b"content-type") or "").lower()
        return self.max_upload_bytes if kind.startswith("multipart/") else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        too_big = (
            f"请求体超过 {limit} 字节的上限，请分批发送 (the request body is larger than the limit "
            f"of {limit} bytes (WANGGE_MAX_BODY_BYTES, WANGGE_MAX_UPLOAD_BYTES for uploads); "
            "send less at once)"
        )
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                detail = f"Content-Length 不是数字 (Content-Length is not a number: {declared!r})"
                await _reply(send, 400, detail)
                return
            if size > limit:
                await _reply(send, 413, too_big)
                return
        try:
            messages = await asyncio.wait_for(self._read(receive, limit), self.read_timeout_s)
        except TimeoutError:
            detail = (
                f"请求体未在 {self.read_timeout_s:g} 秒内发送完毕 (the request body did not arrive "
                f"within {self.read_timeout_s:g} s, WANGGE_BODY_READ_TIMEOUT_S)"
            )
            await _reply(send, 408, detail, {"Connection": "close"})
            return
        if messages is None:
            await _reply(send, 413, too_big)
            return
        queued = iter(messages)

        async def replay() -> Message:
            try:
                return next(queued)
            except StopIteration:
                return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> list[Message] | None:
        """The request's messages up to the end of its body; None once it goes over `limit`."""
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            total += len(message.get("body", b""))
            if total > limit:
                return None
            if not message.get("more_body", False):
                return messages


@dataclass(frozen=True)
class Rate:
    """`per_minute` requests a minute on average, up to `burst` at once."""

    per_minute: float
    burst: int


# route groups open to the public: (group, method, path pattern)
PUBLIC_GROUPS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (group, method, re.compile(pattern))
    for group, method, pattern in (
        ("auth", "POST", r"^/api/auth/token$"),
        ("intake", "POST", r"^/api/cases/?$"),
        ("intake", "POST", r"^/api/cases/[^/]+/attachments/?$"),
        ("intake", "POST", r"^/api/cases/[^/]+/support/?$"),
        ("public", "GET", r"^/api/cases/nearby"),
        ("public", "POST", r"^/api/reports/"),
        ("intake", "POST", r"^/open311/v2/requests\.json$"),
        ("intake", "POST", r"^/api/service-orders/?$"),  # a resident's order
        ("public", "POST", r"^/api/service-orders/(follow|confirm|cancel)/?$"),
        ("public", "GET", r"^/api/service-orders/catalog"),
        ("public", "GET", r"^/api/(geocode|reverse|stations|coverage|categories)(/|$)"),
        ("public", "POST", r"^/api/(geocode|coverage)/"),
        ("public", "GET", r"^/open311/"),
        ("pages", "GET", r"^/map/(planner|worker|public|report)"),  # each built whole, heavy
        ("tiles", "GET", r"^/tiles/"),  # a map view asks for dozens at once
    )
)


def route_group(method: str, path: str) -> str | None:
    """The rate-limited group a request falls in, or None for unlimited routes."""
    for group, want, pattern in PUBLIC_GROUPS:
        if want == method and pattern.match(path):
            return group
    return None


class RateLimit:
    """Token buckets per (principal, route group); 429 with Retry-After when one is empty.

    With `quotas`, a verified account or API token has buckets of its own at the group's rate
    or `account`, whichever is higher (an API token with a rate of its own: that rate)."""

    MAX_BUCKETS = 100_000  # past this, full (idle) buckets are forgotten

    def __init__(
        self,
        app: ASGIApp,
        *,
        rates: dict[str, Rate],
        clock: Callable[[], float] = time.monotonic,
        quotas: Quotas | None = None,
        account: Rate | None = None,
        shared: bool = False,
    ) -> None:
        self.app = app
        self.rates = rates
        self.clock = clock
        self.quotas = quotas
        self.account = account or Rate(0.0, 0)
        self.buckets: dict[tuple[str, str], tuple[float, float, Rate]] = {}  # → tokens, stamp
        self.shared = shared
        self._store: Any = MISSING  # the shared buckets once looked up; None: memory only
        self._store_lock = asyncio.Lock()

    async def store(self, scope: Scope) -> Any:
        """The PostgreSQL buckets of this app's database, or None (memory only)."""
        if self._store is MISSING:
            async with self._store_lock:
                if self._store is MISSING:
                    url = scope["app"].state.database_url
                    ok = await anyio.to_thread.run_sync(rate_buckets.ensure, url)
                    self._store = rate_buckets.SharedBuckets(url) if ok else None
        return self._store

    async def take_shared(self, scope: Scope, bucket: str, group: str, rate: Rate) -> float:
        """Like `take`, against the buckets every worker shares when there are any."""
        store = await self.store(scope) if self.shared else None
        if store is None:
            return self.take(bucket, group, rate)
        key = f"{group}:{bucket}"
        try:
            return await anyio.to_thread.run_sync(store.take, key, rate.burst, rate.per_minute)
        except Exception:  # noqa: BLE001 - a database hiccup must not refuse the request
            return self.take(bucket, group, rate)

    def take(self, client: str, group: str, rate: Rate | None = None) -> float:
        """Take a token; 0 when granted, else the seconds until one is there."""
        rate = rate or self.rates[group]
        now = self.clock()
        per_second = rate.per_minute / 60
        tokens, stamp, _ = self.buckets.get((client, group), (float(rate.burst), now, rate))
        tokens = min(float(rate.burst), tokens + (now - stamp) * per_second)
        if tokens >= 1:
            self.buckets[(client, group)] = (tokens - 1, now, rate)
            self._prune()
            return 0.0
        self.buckets[(client, group)] = (tokens, now, rate)
        return (1 - tokens) / per_second if per_second > 0 else 3600.0

    def _prune(self) -> None:
        if len(self.buckets) <= self.MAX_BUCKETS:
            return
        now = self.clock()
        for key, (tokens, stamp, rate) in list(self.buckets.items()):
            if tokens + (now - stamp) * rate.per_minute / 60 >= rate.burst:
                del self.buckets[key]

    async def principal(self, scope: Scope, group: str) -> tuple[str, str, Rate]:
        """(bucket name, who for a message, rate): a verified bearer's own, else the IP's."""
        client = (scope.get("client") or ("unknown", 0))[0]
        rate = self.rates[group]
        scheme, _, bearer = (_header(scope, b"authorization") or "").partition(" ")
        bearer = bearer.strip()
        if self.quotas is None or scheme.lower() != "bearer" or not bearer:
            return client, client, rate
        quota = self.quotas.cached(bearer)
        if quota is MISSING:
            url = scope["app"].state.database_url
            quota = await anyio.to_thread.run_sync(self.quotas.of, bearer, url)
        if quota is None:  # made up, revoked or expired: counted as anonymous
            return client, client, rate
        if quota.per_minute is not None:
            rate = Rate(quota.per_minute, max(1, round(quota.per_minute / 6)))
        else:
            rate = Rate(
                max(rate.per_minute, self.account.per_minute), max(rate.burst, self.account.burst)
            )
        who = quota.key.partition(":")[0]  # never the account name or token id in a message
        return "principal:" + hashlib.sha256(quota.key.encode()).hexdigest()[:16], who, rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = route_group(scope["method"], scope["path"])
        if group is not None and group in self.rates:
            bucket, client, rate = await self.principal(scope, group)
            wait = await self.take_shared(scope, bucket, group, rate)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                detail = (
                    f"请求过于频繁，请 {seconds} 秒后重试 "
                    f"(too many requests to {group} endpoints from {client} "
                    f"(limit {rate.per_minute:g} a minute, bursts of {rate.burst}); "
                    f"retry after {seconds} s)"
                )
                await _reply(send, 429, detail, {"Retry-After": str(seconds)})
                return
        await self.app(scope, receive, send)


class InFlightLimit:
    """At most `limit` requests in the app at once; the others wait in arrival order (FIFO) up
    to `wait_s` for a turn, then get 503 with Retry-After. A finishing request hands its slot
    to the longest waiter, so a newcomer never overtakes the queue and waits stay even (p99
    near p50 under saturation). Under overload the service answers fast instead of letting
    hundreds of requests fight over the threads, the GIL and the database pool until clients
    time out (and their abandoned work keeps the server busy)."""

    def __init__(self, app: ASGIApp, *, limit: int, wait_s: float) -> None:
        self.app = app
        self.limit = limit
        self.wait_s = wait_s
        self.active = 0  # slots taken (a handed-over slot stays taken)
        self.queue: deque[asyncio.Future[None]] = deque()  # waiters, oldest first

    async def admit(self) -> bool:
        """Take a slot, waiting in line up to `wait_s`; False when none came in time."""
        if self.active < self.limit and not self.queue:
            self.active += 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append(turn)
        try:
            async with asyncio.timeout(self.wait_s):
                await turn
        except BaseException as exc:
            handed = turn.done() and not turn.cancelled()
            turn.cancel()  # no-op when handed over; else release() skips it
            if handed:  # the slot came just as the wait ended: keep it, or pass it on
                if isinstance(exc, TimeoutError):
                    return True
                self.release()
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def release(self) -> None:
        """Hand the slot to the oldest live waiter, else free it."""
        while self.queue:
            turn = self.queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.active -= 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not await self.admit():
            detail = (
                f"服务繁忙，请稍后重试 (the service is busy: {self.limit} requests in progress, "
                "WANGGE_MAX_IN_FLIGHT; retry in a moment)"
            )
            await _reply(send, 503, detail, {"Retry-After": "2"})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.release()


# sent with every answer unless the route set its own
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
}
# scripts and styles only from this site or inline with this response's nonce (folium's page
# scripts and head styles, the docs' start script, the pages' own rules); no style attributes
# (Leaflet and the pages' scripts set styles through the CSSOM, which CSP allows); no plugins,
# no <base>, no framing.
SCRIPT_POLICY = (
    "script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Browser-side defences on every response: no MIME sniffing, no framing, no referrer
    beyond this site, and a script and style CSP with a fresh nonce (CSP_NONCE while the app
    answers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        policy = SCRIPT_POLICY.format(nonce=nonce).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {key.lower() for key, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        token = CSP_NONCE.set(nonce)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            CSP_NONCE.reset(token)


def add_limits(app: Any, settings: Any) -> None:
    """Register both middlewares on a FastAPI app from the settings (rate limits if enabled)."""
    if settings.max_in_flight > 0:
        app.add_middleware(
            InFlightLimit, limit=settings.max_in_flight, wait_s=settings.in_flight_wait_s
        )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        read_timeout_s=settings.body_read_timeout_s,
    )
    if settings.rate_limit:  # added last: outermost, so a refused request costs least
        rates = {
            "auth": Rate(settings.rate_limit_auth_per_minute, settings.rate_limit_auth_burst),
            "intake": Rate(settings.rate_limit_intake_per_minute, settings.rate_limit_intake_burst),
            "public": Rate(settings.rate_limit_public_per_minute, settings.rate_limit_public_burst),
            "tiles": Rate(settings.rate_limit_tiles_per_minute, settings.rate_limit_tiles_burst),
            "pages": Rate(settings.rate_limit_pages_per_minute, settings.rate_limit_pages_burst),
        }
        account = Rate(settings.rate_limit_account_per_minute, settings.rate_limit_account_burst)
        app.add_middleware(
            RateLimit,
            rates=rates,
            quotas=Quotas(settings),
            account=account,
            shared=settings.rate_limit_shared,
        )
    app.add_middleware(SecurityHeaders)  # outermost: on refusals (413, 429, 503) too
