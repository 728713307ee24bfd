"""Whose quota a request counts against: a signed-in account or an API token has its own, the
address it comes from only counts for anonymous clients.

The rate limits (api/middleware.py) ask `Quotas.of(bearer)`. A credential that does not verify
counts as anonymous (by its IP), so made-up tokens buy no fresh buckets. Answers are kept for
`ttl_s`, so a busy client costs one database look-up a minute rather than one a request; the
routes still check every credential in full.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from sqlalchemy import select

from api.accounts.tokens import ALGORITHM, API_TOKEN_PREFIX, signing_secret
from api.db import session_factory
from api.storage.models import ApiToken

MISSING = object()


@dataclass(frozen=True)
class Quota:
    """A principal's bucket name and, for an API token with a quota of its own, its rate."""

    key: str  # "user:<name>" or "token:<id>"
    per_minute: float | None = None  # None: the account quota (WANGGE_RATE_LIMIT_ACCOUNT_*)


class Quotas:
    """Bearer credential → Quota (None when it does not verify), cached for `ttl_s`."""

    MAX_ENTRIES = 10_000

    def __init__(
        self,
        settings,
        *,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self.clock = clock
        self._known: dict[str, tuple[Quota | None, float]] = {}

    def cached(self, bearer: str):
        """The cached answer for `bearer`, or MISSING (then ask `of`, off the event loop)."""
        quota, until = self._known.get(_digest(bearer), (MISSING, 0.0))
        return quota if until > self.clock() else MISSING

    def of(self, bearer: str, database_url: str) -> Quota | None:
        """Whose quota `bearer` draws on; looks an API token up in the database."""
        if bearer.startswith(API_TOKEN_PREFIX):
            quota = self._api_token(bearer, database_url)
        else:
            quota = self._access_token(bearer)
        if len(self._known) >= self.MAX_ENTRIES:
            self._known.clear()
        self._known[_digest(bearer)] = (quota, self.clock() + self.ttl_s)
        return quota

    def _access_token(self, bearer: str) -> Quota | None:
        try:
            claims = jwt.decode(
                bearer, signing_secret(self.settings), algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"]},
            )  # fmt: skip
        except jwt.InvalidTokenError:
            return None
        return Quota(f"user:{claims['sub']}") if claims.get("typ") == "access" else None

    def _api_token(self, bearer: str, database_url: str) -> Quota | None:
        with session_factory(database_url)() as session:
            row = session.execute(
                select(ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at).where(
                    ApiToken.token_hash == hashlib.sha256(bearer.encode()).hexdigest()
                )
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
            return None
        own = self.settings.rate_limit_token_per_minute.get(str(row.id))
        return Quota(f"token:{row.id}", None if own is None else float(own))


def _digest(bearer: str) -> str:
    return hashlib.sha256(bearer.encode()).hexdigest()
