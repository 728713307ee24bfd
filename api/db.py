"""Engine and session factory. Queries never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


@lru_cache
def get_engine(url: str) -> Engine:
    """One pool per database, kept as large as the requests the app admits at once (plus the
    background jobs), so that busy periods reuse connections rather than open and close
    overflow ones (a new backend costs a fork, a SCRAM handshake and cold PostGIS caches)."""
    from api.settings import get_settings

    in_flight = get_settings().max_in_flight
    pool_size = in_flight + 4 if in_flight > 0 else 10
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=20)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with session_factory(url)() as session, session.begin():
        yield session
