"""Answers kept in process while the rows they were made from are unchanged.

A version is read first (one small query), then the cached answer is used when it was made at
that version, else made anew and kept. Reading the version before the data means a change
committed in between can only leave a newer answer under an older version (made again on the
next request), never an older answer under a newer one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy import func, literal_column


def row_versions(model) -> tuple:
    """(row count, sum of row versions) of `model`'s rows as two SQL expressions: a row added,
    removed or rewritten changes them (a rewritten row's xmin, the transaction that wrote it,
    is newer than the one it replaces)."""
    table = model.__tablename__
    return func.count(), func.coalesce(func.sum(literal_column(f"{table}.xmin::text::bigint")), 0)


class VersionedCache:
    """Answers by key with the version each was made at; least recently used dropped past
    `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self._items: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        """The answer kept for `key` if it was made at `version`."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != version:
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, version: Hashable, data: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self.size -= len(old[1]) if old else 0
            self._items[key] = (version, data)
            self.size += len(data)
            while self.size > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= len(dropped)
