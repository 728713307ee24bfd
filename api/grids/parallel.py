"""How grid generation uses the shared pool (api.bulk.pool, whose local workers are forked
from this process, which has the engine imported already): the largest areas handed out
first."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from api.bulk.pool import Pool
from geo.grids.generate import AreaWork, MapAreas


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
