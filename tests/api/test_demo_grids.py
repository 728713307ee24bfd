"""The demo builds grids for every community and puts the grid workers on them.

(The Nanjing Xuanwu demo's grids are checked in test_demo.py, to load that extract only once.)"""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.demo import datasets as demo
from api.main import create_app
from tests.api.test_grids_db import rows


def test_synthetic_demo_builds_grids_and_assigns_workers(use_database):
    demo.prepare(dataset="synthetic", size="community", log=lambda _: None).close()
    url = use_database
    levels = dict(rows(url, "SELECT level, count(*) FROM grids WHERE valid_to IS NULL GROUP BY 1"))
    assert levels["grid"] > 0 and levels["micro"] > levels["grid"]
    assert rows(url, "SELECT DISTINCT version FROM grids") == [(1,)]
    households = rows(url, "SELECT sum(households) FROM buildings")[0][0]
    assert rows(url, "SELECT sum(households) FROM grids WHERE level = 'grid'")[0][0] == households
    # every grid has exactly one leader and at least one full-time worker of its community
    per_grid = rows(
        url,
        "SELECT g.code, count(*) FILTER (WHERE w.role = 'grid_leader'), "
        "count(*) FILTER (WHERE w.role = 'full_time'), bool_and(w.community_id = g.community_id) "
        "FROM grids g JOIN worker_grids wg ON wg.grid_code = g.code "
        "JOIN workers w ON w.id = wg.worker_id WHERE g.level = 'grid' GROUP BY g.code",
    )
    assert len(per_grid) == levels["grid"]
    assert all(leaders == 1 and full >= 1 and same for _, leaders, full, same in per_grid)
    # every part-time and full-time worker serves a grid
    idle = rows(
        url,
        "SELECT count(*) FROM workers w WHERE w.role <> 'grid_leader' "
        "AND NOT EXISTS (SELECT 1 FROM worker_grids wg WHERE wg.worker_id = w.id)",
    )
    assert idle == [(0,)]
    with TestClient(create_app(url)) as client:
        page = client.get("/?lang=en")
        assert "Micro-grids" in page.text and f"{levels['micro']:,}" in page.text
        features = client.get("/api/grids", params={"level": "grid"}).json()["features"]
        assert len(features) == levels["grid"]
