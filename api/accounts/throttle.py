"""Per-account sign-in lockout, kept in PostgreSQL so that it holds across worker processes:
after FREE_FAILURES wrong passwords in a row an account name is locked for FIRST_LOCK_S,
doubling with each further failure up to MAX_LOCK_S; a right password clears it. A locked
name is refused before any password hash is computed."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

FREE_FAILURES = 5
FIRST_LOCK_S = 1
MAX_LOCK_S = 900
FORGET_AFTER = "1 day"  # a name's failures older than this start again from zero

_FAILED = text(f"""
INSERT INTO sign_in_failures AS f (username, failures, last_failure)
VALUES (:name, 1, now())
ON CONFLICT (username) DO UPDATE SET
    failures = CASE WHEN f.last_failure < now() - interval '{FORGET_AFTER}' THEN 1
                    ELSE f.failures + 1 END,
    last_failure = now()
RETURNING failures
""")
_LOCK = text(
    "UPDATE sign_in_failures SET locked_until = now() + make_interval(secs => :secs)"
    " WHERE username = :name"
)
_WAIT = text(
    "SELECT ceil(extract(epoch FROM locked_until - now())) FROM sign_in_failures"
    " WHERE username = :name AND locked_until > now()"
)


def _key(username: str) -> str:
    return username.strip().lower()[:64]


def wait_seconds(session: Session, username: str) -> int:
    """Seconds until `username` may try again (0: not locked)."""
    return int(session.execute(_WAIT, {"name": _key(username)}).scalar() or 0)


def failed(session: Session, username: str) -> int:
    """Count a wrong password for `username`; returns the lock it now has, in seconds."""
    failures = session.execute(_FAILED, {"name": _key(username)}).scalar_one()
    if failures < FREE_FAILURES:
        return 0
    secs = min(FIRST_LOCK_S * 2 ** (failures - FREE_FAILURES), MAX_LOCK_S)
    session.execute(_LOCK, {"name": _key(username), "secs": secs})
    return secs


def succeeded(session: Session, username: str) -> None:
    session.execute(text("DELETE FROM sign_in_failures WHERE username = :name"),
                    {"name": _key(username)})  # fmt: skip
