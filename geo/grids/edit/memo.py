"""Small caches shared by an edit's steps and by consecutive edits: results of pure steps,
kept by the content they read, so that what an edit leaves untouched is not worked out again."""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

_ALL: weakref.WeakSet[Memo] = weakref.WeakSet()


def clear_all() -> None:
    """Empty every Memo (a benchmark's cold start after it planned its edits)."""
    for memo in list(_ALL):
        memo.clear()


class Memo:
    """The last `size` results, by key (thread-safe; values are shared, so never change one)."""

    def __init__(self, size: int) -> None:
        _ALL.add(self)
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0  # how many look-ups found their result

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def digest(wkbs: np.ndarray | list) -> bytes:
    """One key for a sequence of WKB geometries (None for a missing one), order included."""
    found = hashlib.blake2b(digest_size=16)
    for wkb in wkbs:
        found.update(b"-" if wkb is None else len(wkb).to_bytes(8, "little") + wkb)
    return found.digest()


def each(memo: Memo, keys: list, compute) -> np.ndarray:
    """One result per key: from `memo` where it has the key, else from `compute(rows)` (the
    results for those positions, in order), which is then remembered."""
    out = np.empty(len(keys), dtype=object)
    todo = []
    for k, key in enumerate(keys):
        found = memo.get(key)
        if found is None:
            todo.append(k)
        else:
            out[k] = found
    if todo:
        rows = np.asarray(todo, dtype=np.int64)
        for k, value in zip(todo, compute(rows), strict=True):
            out[k] = value
            memo.put(keys[k], value)
    return out
