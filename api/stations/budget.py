"""Station analyses (coverage, site suggestions) bounded in CPU and time: anonymous clients may
ask for them, and a whole city at large walking times takes seconds of CPU.

At most `slots` analyses run at once in a process (WANGGE_ANALYSIS_SLOTS); a request that finds
none free within `wait_s` gets BusyError (503) at once rather than queueing behind them. A
running analysis is waited for up to `budget_s` (WANGGE_ANALYSIS_BUDGET_S); past that the
request gets BusyError while the analysis finishes in the background into the cache, so a retry
is answered at once. Results are cached by their key, which holds the data's version: an edit of
roads, stations, buildings or grids makes a new key. The same key asked twice at once runs once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from api.errors import BusyError

CACHE_SIZE = 16


class Analyses:
    """The slots, the running analyses and the cache of one process."""

    def __init__(self, slots: int) -> None:
        self.slots = threading.BoundedSemaphore(slots)
        self.lock = threading.Lock()
        self.running: dict[Hashable, Future] = {}
        self.cache: OrderedDict[Hashable, Any] = OrderedDict()

    def run(self, key: Hashable, job: Callable[[], Any], *, wait_s: float, budget_s: float):
        """`job()`'s result for `key`: from the cache, from the same job already running, or
        run now in a slot of its own; BusyError when no slot frees in `wait_s` or the answer
        takes over `budget_s`."""
        future = self._cached_or_running(key)
        if future is None:
            if not self.slots.acquire(timeout=wait_s):
                msg = (
                    "分析任务繁忙，请稍后重试 (the service is busy with other coverage analyses; "
                    "retry in a moment)"
                )
                raise BusyError(msg)
            future = self._start(key, job)
        try:
            return future.result(timeout=budget_s)
        except FutureTimeout:
            msg = (
                f"分析超过 {budget_s:g} 秒，正在后台完成，请稍后重试同一请求 (the analysis took "
                f"over {budget_s:g} s; it finishes in the background, retry the same request "
                "in a moment)"
            )
            raise BusyError(msg, retry_after=15) from None

    def _cached_or_running(self, key: Hashable) -> Future | None:
        with self.lock:
            return self._lookup(key)

    def _lookup(self, key: Hashable) -> Future | None:
        """(under the lock) a future holding the cached result, the running one, or None."""
        if key in self.cache:
            self.cache.move_to_end(key)
            done: Future = Future()
            done.set_result(self.cache[key])
            return done
        return self.running.get(key)

    def _start(self, key: Hashable, job: Callable[[], Any]) -> Future:
        """Run `job` in a thread holding the slot already taken (released when it ends)."""
        with self.lock:
            if (found := self._lookup(key)) is not None:  # started or done while we waited
                self.slots.release()
                return found
            future: Future = Future()
            self.running[key] = future
        threading.Thread(target=self._work, args=(key, job, future), daemon=True).start()
        return future

    def _work(self, key: Hashable, job: Callable[[], Any], future: Future) -> None:
        try:
            result = job()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            with self.lock:
                self.running.pop(key, None)
            future.set_exception(exc)
        else:
            with self.lock:
                self.running.pop(key, None)
                self.cache[key] = result
                while len(self.cache) > CACHE_SIZE:
                    self.cache.popitem(last=False)
            future.set_result(result)
        finally:
            self.slots.release()


_analyses: Analyses | None = None
_made = threading.Lock()


def analyses() -> Analyses:
    """This process's analyses, with WANGGE_ANALYSIS_SLOTS slots."""
    global _analyses
    from api.settings import get_settings

    with _made:
        if _analyses is None:
            _analyses = Analyses(get_settings().analysis_slots)
        return _analyses


def bounded(key: Hashable, job: Callable[[], Any]):
    """`job()` under this process's slots, budget and cache (see the module)."""
    from api.settings import get_settings

    s = get_settings()
    return analyses().run(key, job, wait_s=s.analysis_wait_s, budget_s=s.analysis_budget_s)
