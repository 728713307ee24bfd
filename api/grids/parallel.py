"""How grid generation uses the shared pool (api.bulk.pool, whose local workers are forked
from this process, which has the engine imported already): the largest areas handed out
first, and in DB mode the parts of a large community handed back to the cluster."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

import geopandas as gpd

from api.bulk.pool import Pool
from geo.grids.generate import AreaWork, GridLayer, MapAreas, generate_grids
from geo.grids.parts import PART_HOUSEHOLDS


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
