"""The app freezes what start-up made, so full garbage collections during requests do not walk
the ~300,000 objects of the loaded libraries again (issue 16: a full collection took 150-200 ms
and made the p95 of the planner's edits)."""

from __future__ import annotations

import gc


def test_the_start_up_heap_is_frozen_while_the_app_runs_and_released_after(db_url):
    from fastapi.testclient import TestClient

    from api.main import create_app

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(db_url)) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/api/health").status_code == 200
    assert gc.get_freeze_count() == 0
