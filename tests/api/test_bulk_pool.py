"""The local Dask pool every bulk job opens (api.bulk.pool.open_pool: grids generate, geocode,
cases import): workers forked from the command's process, Dask's housekeeping slowed down,
no dashboard and nothing listening beyond 127.0.0.1."""

from __future__ import annotations

import os
import sys
import types

import dask
import psutil

from api.bulk.pool import QUIET_WORKERS, open_pool

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
