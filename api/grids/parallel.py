"""How grid generation uses the shared pool (api.bulk.pool, whose local workers are forked
from this process, which has the engine imported already): the largest areas handed out
first, and in DB mode the parts of a large community handed back to the cluster."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import partial

import geopandas as gpd

from api.bulk.pool import Pool
from geo.grids.generate import AreaWork, GridLayer, MapAreas, generate_grids
from geo.grids.parts import PART_HOUSEHOLDS


def area_map(pool: Pool | None) -> MapAreas | None:
    """The map generate_grids divides its areas with: None (in order, here) for one process;
    on Dask the areas go out largest first, so that no large area is left to one worker at
    the end, small ones a few to a task (batches), and come back in their order."""
    if pool is None or pool.client is None:
        return None

    def mapped(divide: Callable[[AreaWork], list[dict]], works: Iterable[AreaWork]):
        from dask.utils import funcname

        works = list(works)
        batches = batch_areas([_size(w) for w in works], pool.workers)
        done = pool.map(
            partial(_divide_each, divide), [[works[i] for i in b] for b in batches],
            name=funcname(divide),
        )  # fmt: skip
        out: list = [None] * len(works)
        for batch, rows in zip(batches, done, strict=True):
            for i, area_rows in zip(batch, rows, strict=True):
                out[i] = area_rows
        return out

    return mapped


def batch_areas(sizes: list[int], workers: int) -> list[list[int]]:
    """The areas' indices in tasks, largest first: a task holds areas until it is as large as
    the largest area, or as an eighth of what is left per worker where that is less, so the
    last tasks are single small areas and the workers finish together. Each task costs Dask
    a few ms of CPU in this process and in the worker."""
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    largest, left = (sizes[order[0]], sum(sizes)) if order else (0, 0)
    batches: list[list[int]] = []
    batch: list[int] = []
    held = 0
    for i in order:
        batch.append(i)
        held += sizes[i]
        if held >= min(largest, (left - held) / (8 * workers)):
            batches.append(batch)
            left -= held
            batch, held = [], 0
    return batches + [batch] if batch else batches


def _divide_each(divide: Callable[[AreaWork], list[dict]], works: list[AreaWork]) -> list:
    return [divide(work) for work in works]


def _size(work: AreaWork) -> int:
    """What an area's division costs grows with its households and buildings."""
    return int(work.buildings["households"].sum()) + 10 * len(work.buildings)


def generate_on_cluster(
    buildings: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, **options
) -> GridLayer:
    """generate_grids as one Dask task (DB mode: a community a task). A boundary that the
    engine cuts into parts hands its parts back to the cluster, so that they are divided in
    parallel as in file mode, not one after another in this worker; same result."""
    worker = _dask_worker()
    most = options.get("part_households", PART_HOUSEHOLDS)
    if worker is None or int(buildings["households"].sum()) <= most:
        return generate_grids(buildings, boundary, **options)
    from distributed import worker_client

    with worker_client() as client:  # this task leaves its thread to the parts meanwhile
        return generate_grids(buildings, boundary, map_areas=area_map(Pool(client)), **options)


def _dask_worker():
    """The Dask worker running this call, or None (Dask not even imported in one process)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None
