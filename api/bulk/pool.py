"""Where bulk work runs: in this process, or on Dask (a local cluster of N processes, or an
existing scheduler). Dask is imported only when it is asked for, so one-worker runs start fast.
Grid generation, batch geocoding and case import share it (``--workers`` / ``--scheduler``).
"""

from __future__ import annotations

import logging
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from geo.errors import InputError


class Later:
    """A call run when its result is asked for (the one-process stand-in for a Dask future)."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict) -> None:
        self._call = (fn, args, kwargs)

    def result(self) -> Any:
        fn, args, kwargs = self._call
        return fn(*args, **kwargs)


@dataclass
class Pool:
    """Submits calls: Dask's client when there is one, else runs them here, in order."""

    client: Any = None  # distributed.Client

    @property
    def workers(self) -> int:
        if self.client is None:
            return 1
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def submit(self, fn: Callable, *args, **kwargs) -> Any:
        """A future: `.result()` gives fn's value or raises its error."""
        if self.client is None:
            return Later(fn, args, kwargs)
        return self.client.submit(fn, *args, pure=False, **kwargs)

    def map(self, fn: Callable, items: Iterable, *, name: str | None = None) -> Iterator:
        """fn of each item, in order (all submitted first on Dask, their keys starting with
        `name`, else fn's name); stops at the first error. On Dask each item and each result
        crosses as one pickle (bytes): Dask would send each array of a frame as a message part
        of its own, through the scheduler (0.6 against 0.25 s of this process's CPU for the
        144 areas of bench.city)."""
        if self.client is None:
            yield from map(fn, items)
            return
        from dask.utils import funcname

        packed = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in items]
        key = name or funcname(fn)
        futures = self.client.map(_packed_call, packed, fn=fn, key=key, pure=False)
        try:
            for future in futures:
                yield pickle.loads(future.result())
        finally:
            self.client.cancel(futures)

    def stream(self, fn: Callable, parts: Iterable, *shared: Any, window: int = 0) -> Iterator:
        """``fn(*shared, part)`` for each part, in order, with at most `window` parts in flight
        (default: twice the workers), so a file larger than memory streams through. On Dask
        each shared value is sent to every worker once, not with each part."""
        if self.client is None:
            for part in parts:
                yield fn(*shared, part)
            return
        held = [self.client.scatter([value], broadcast=True)[0] for value in shared]
        window = window or 2 * self.workers
        pending: deque = deque()
        try:
            for part in parts:
                pending.append(self.client.submit(fn, *held, part, pure=False))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            self.client.cancel([*pending, *held])


def _packed_call(item: bytes, fn: Callable) -> bytes:
    """fn of a pickled item, pickled (Pool.map's task on a Dask worker)."""
    return pickle.dumps(fn(pickle.loads(item)), protocol=pickle.HIGHEST_PROTOCOL)


# Dask's housekeeping runs by the wall clock (a stack sample every 10 ms in each busy worker, a
# memory check every 100 ms): on a 262,000-household city at load 16-20 two workers spent 27.1 s
# of CPU with it and 20.6 s with these (one process: 14.8 s); no dashboard reads the profiles.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
}

# A local cluster's worker processes are forked from this one, which has the job's modules
# imported already (a spawned worker imports Dask and the geo stack again: 2-3 s of CPU each,
# on the cores the job needs). The scheduler serves no dashboard and no HTTP routes; its HTTP
# server (which Dask always starts) listens on a free port of 127.0.0.1, never on 8787.
LOCAL_CLUSTER = {
    "distributed.worker.multiprocessing-method": "fork",
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
    **QUIET_WORKERS,
}


@contextmanager
def open_pool(workers: int = 1, scheduler: str | None = None) -> Iterator[Pool]:
    """A Pool: this process for one worker, a local Dask cluster of `workers` processes (one
    thread each, forked from this process: import what the job needs before opening it), or
    the Dask cluster at `scheduler` (its workers need this package installed).
    """
    if workers < 1:
        msg = f"--workers 须至少为 1 (--workers must be at least 1, got {workers})"
        raise InputError(msg)
    if scheduler is None and workers == 1:
        yield Pool()
        return
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            msg = f"连不上 Dask 调度器 {scheduler} (cannot reach the Dask scheduler): {exc}"
            raise InputError(msg) from None
        with client:
            yield Pool(client)
        return
    with (
        dask.config.set(LOCAL_CLUSTER),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        yield Pool(client)
