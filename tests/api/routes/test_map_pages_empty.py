"""The map pages on a database with nothing loaded yet: a page that says so, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/map/planner", "/map/worker", "/map/public"])
def test_map_pages_answer_on_an_empty_database(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    assert "<html" in page.text.lower()
