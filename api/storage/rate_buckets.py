"""Rate-limit token buckets shared by every worker process, in an UNLOGGED table.

UNLOGGED: the buckets are a few seconds of state that nobody needs after a crash, so they skip
the write-ahead log (cheap writes, emptied on a crash restart). Not a migration: the table is
made at start-up by the owner (`ensure`, after the migrations) and holds nothing to migrate.
One request costs one statement: refill, take a token and answer, atomically under the row lock.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text

TABLE = "rate_buckets"

_CREATE = text(f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
    bucket text PRIMARY KEY,
    tokens double precision NOT NULL,
    stamp timestamptz NOT NULL,
    granted boolean NOT NULL
)
""")

# tokens refilled since the last stamp, capped at the burst; one taken if there is one
_REFILLED = (
    "least(CAST(:burst AS double precision),"
    " b.tokens + extract(epoch FROM clock_timestamp() - b.stamp) * :per_second)"
)
_TAKE = text(f"""
INSERT INTO {TABLE} AS b (bucket, tokens, stamp, granted)
VALUES (:bucket, :burst - 1, clock_timestamp(), :burst >= 1)
ON CONFLICT (bucket) DO UPDATE SET
    tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    granted = {_REFILLED} >= 1,
    stamp = clock_timestamp()
RETURNING granted, tokens
""")
_FORGET = text(f"DELETE FROM {TABLE} WHERE stamp < clock_timestamp() - interval '1 hour'")


def ensure(url: str) -> bool:
    """Create the table if it is missing; False when this role may not (the service role):
    then the owner's start-up makes it."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is not None:
                return True
            conn.execute(_CREATE)
            return True
    except Exception:  # noqa: BLE001 - no CREATE privilege: the limits fall back to memory
        return False
    finally:
        engine.dispose()


class SharedBuckets:
    """Token buckets in PostgreSQL, on a small pool of their own (never waiting on the app's).
    Autocommit and no pre-ping: one round trip a request (the statement is atomic on its own;
    a dropped connection fails one request over to the in-memory buckets)."""

    def __init__(self, url: str) -> None:
        # no overflow: a take holds its connection for one short statement, so waiting for a
        # pooled one beats opening a backend per request under a burst
        self.engine: Engine = create_engine(
            url, pool_size=8, max_overflow=0, pool_timeout=5, isolation_level="AUTOCOMMIT"
        )
        self.taken = 0

    def take(self, bucket: str, burst: int, per_minute: float) -> float:
        """0 when a token was granted, else the seconds until one is there."""
        per_second = per_minute / 60
        params = {"bucket": bucket, "burst": burst, "per_second": per_second}
        with self.engine.connect() as conn:
            granted, tokens = conn.execute(_TAKE, params).one()
            self.taken += 1
            if self.taken % 10_000 == 0:  # idle buckets are full again after an hour
                conn.execute(_FORGET)
        if granted:
            return 0.0
        return (1 - tokens) / per_second if per_second > 0 else 3600.0

    def close(self) -> None:
        self.engine.dispose()
