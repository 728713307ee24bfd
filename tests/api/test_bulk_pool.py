"""The local Dask pool every bulk job opens (api.bulk.pool.open_pool: grids generate, geocode,
cases import): workers forked from the command's process, Dask's housekeeping slowed down,
no dashboard and nothing listening beyond 127.0.0.1."""

from __future__ import annotations

import os
import sys
import types

import dask
import geopandas as gpd
import psutil
import pytest
from shapely.geometry import Point

from api.bulk.pool import QUIET_WORKERS, open_pool
from geo.errors import InputError

MARK = "wangge_test_imported_before_the_pool"


def _worker_view() -> dict:
    return {
        "pid": os.getpid(),
        "forked": MARK in sys.modules,  # only a fork of the test process has it
        "profile": dask.config.get("distributed.worker.profile.enabled"),
        "bokeh": "bokeh" in sys.modules or "distributed.dashboard.scheduler" in sys.modules,
    }


def _listening(process: psutil.Process) -> list:
    found = []
    for p in [process, *process.children(recursive=True)]:
        found += [c.laddr for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    return found


def test_a_local_pool_forks_quiet_workers_and_serves_no_dashboard():
    sys.modules[MARK] = types.ModuleType(MARK)
    try:
        with open_pool(2) as pool:
            views = list(pool.client.run(_worker_view).values())
            listening = _listening(psutil.Process())
            assert pool.workers == 2
    finally:
        del sys.modules[MARK]
    assert len({v["pid"] for v in views}) == 2
    assert all(v["forked"] for v in views)
    assert all(v["profile"] is QUIET_WORKERS["distributed.worker.profile.enabled"] for v in views)
    assert not any(v["bokeh"] for v in views)
    assert "bokeh" not in sys.modules and "distributed.dashboard.scheduler" not in sys.modules
    assert listening, "the scheduler listens somewhere"
    assert all(a.port != 8787 for a in listening), listening
    assert {a.ip for a in listening} == {"127.0.0.1"}, listening


def _area_name(frame):
    if frame.empty:
        raise InputError("区域为空 (empty area)")
    return frame.assign(name=frame["code"] + "区")


def test_map_hands_frames_over_and_back_in_order_under_its_name():
    from distributed import get_task_stream

    frames = [
        gpd.GeoDataFrame({"code": [f"{i:03d}"]}, geometry=[Point(i, i)], crs=4326) for i in range(7)
    ]
    with open_pool(2) as pool, get_task_stream(pool.client) as stream:
        out = list(pool.map(_area_name, frames, name="divide_area"))
        with pytest.raises(InputError, match="区域为空"):
            list(pool.map(_area_name, [frames[0].iloc[:0]]))
    assert [f["name"].tolist() for f in out] == [[f"{i:03d}区"] for i in range(7)]
    assert all(
        f.crs == g.crs and f.geometry.equals(g.geometry) for f, g in zip(out, frames, strict=True)
    )
    keys = [t["key"] for t in stream.data]
    assert sum(k.startswith("divide_area-") for k in keys) == 7
    assert sum(k.startswith("_area_name-") for k in keys) == 1
