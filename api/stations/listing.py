"""The public station list, kept per process as the bytes of its answer while no station or
community changed (api/storage/versioned.py): a busy public map asks for it on every load."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.storage import models
from api.storage import stations as store
from api.storage.versioned import VersionedCache, row_versions

CACHE = VersionedCache(max_bytes=16 * 1024 * 1024)


def stations_version(session: Session) -> tuple[int, ...]:
    """Changes whenever a station or a community (whose code and name the list carries) is
    added, removed or edited."""
    parts = [
        select(v).select_from(model).scalar_subquery()
        for model in (models.Station, models.Community)
        for v in row_versions(model)
    ]
    return tuple(int(v) for v in session.execute(select(*parts)).one())


def station_list(
    session: Session,
    render: Callable[[list[dict]], bytes],
    *,
    station_type: str | None = None,
    function: str | None = None,
) -> tuple[str, bytes]:
    """(ETag, body) of the stations filtered by type and function, `render`ed from their rows
    (store.station_rows) when the kept answer is stale."""
    version = stations_version(session)
    key = (str(session.get_bind().url), station_type, function)
    body = CACHE.get(key, version)
    if body is None:
        body = render(store.station_rows(session, station_type=station_type, function=function))
        CACHE.put(key, version, body)
    digest = hashlib.sha256(repr((station_type, function, version)).encode()).hexdigest()[:24]
    return f'"{digest}"', body
