"""How grid generation uses the shared pool: local workers forked from this process, which
has the engine imported already, and the largest areas handed out first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from api.bulk.pool import Pool, open_pool
from geo.grids.generate import AreaWork, MapAreas

# Dask's housekeeping runs by the wall clock (a stack sample every 10 ms in each busy worker, a
# memory check every 100 ms): on a 262,000-household city at load 16-20 two workers spent 27.1 s
# of CPU with it and 20.6 s with these (one process: 14.8 s); no dashboard reads the profiles.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
}


@contextmanager
def open_grid_pool(workers: int = 1, scheduler: str | None = None) -> Iterator[Pool]:
    """open_pool, with a local cluster's worker processes forked rather than spawned, and
    Dask's housekeeping slowed down (QUIET_WORKERS).

    A spawned worker imports Dask and the geo stack again (2–3 s of CPU each, on the cores the
    division needs); a forked one starts with what this process has imported.
    """
    if scheduler is not None or workers == 1:
        with open_pool(workers, scheduler) as pool:
            yield pool
        return
    import dask  # the engine is imported (above) before the fork: the workers have it

    forked = {"distributed.worker.multiprocessing-method": "fork", **QUIET_WORKERS}
    with dask.config.set(forked), open_pool(workers) as pool:
        yield pool


def area_map(pool: Pool | None) -> MapAreas | None:
    """The map generate_grids divides its areas with: None (in order, here) for one process;
    on Dask the areas go out largest first, so that no large area is left to one worker at
    the end, and come back in their order."""
    if pool is None or pool.client is None:
        return None

    def mapped(divide: Callable[[AreaWork], list[dict]], works: Iterable[AreaWork]):
        works = list(works)
        order = sorted(range(len(works)), key=lambda i: (-_size(works[i]), i))
        out: list = [None] * len(works)
        for i, rows in zip(order, pool.map(divide, [works[i] for i in order]), strict=True):
            out[i] = rows
        return out

    return mapped


def _size(work: AreaWork) -> int:
    """What an area's division costs grows with its households and buildings."""
    return int(work.buildings["households"].sum()) + 10 * len(work.buildings)
