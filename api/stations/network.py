"""The walking network of a database: built once from its `roads` table, cached per URL.

Each use compares :func:`api.storage.stations.roads_version` (row count, largest id, newest row
version) with the one the cached network was built from and rebuilds when roads changed;
:func:`invalidate` forgets a network.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.storage import stations as store
from geo.network import WalkNetwork, walk_network

__all__ = ["database_url", "get_network", "invalidate"]


@dataclass(slots=True)
class _Entry:
    version: tuple[int, ...]
    network: WalkNetwork


_networks: dict[str, _Entry] = {}
_lock = threading.Lock()


def database_url(session: Session) -> str:
    """The URL of the session's database, as the cache key."""
    return session.get_bind().url.render_as_string(hide_password=False)


def invalidate(url: str | None = None) -> None:
    """Forget the network of one database (all without `url`)."""
    with _lock:
        if url is None:
            _networks.clear()
        else:
            _networks.pop(url, None)


def get_network(session: Session, url: str | None = None) -> WalkNetwork:
    """The walking network of the session's database, (re)built from `roads` when stale.

    Raises NotFoundError when the database holds no walkable road.
    """
    url = url or database_url(session)
    version = store.roads_version(session)
    entry = _networks.get(url)
    if entry is not None and entry.version == version:
        return entry.network
    with _lock:
        entry = _networks.get(url)
        if entry is None or entry.version != version:
            if version[0] == 0:
                msg = "no roads in the database: load roads (wangge ingest roads|osm) first"
                raise NotFoundError(msg)
            entry = _Entry(version, walk_network(store.road_frame(session)))
            _networks[url] = entry
        return entry.network
