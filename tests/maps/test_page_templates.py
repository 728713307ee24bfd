"""Data on the map pages is never Jinja template source: names holding ``{{ … }}`` or
``{% … %}`` reach the HTML as they were, and nothing in them runs on the server."""

from __future__ import annotations

import json

import geopandas as gpd
from shapely.geometry import Point, box

from maps.planner import build_planner_map

HOSTILE = (
    "楼{{ 6*7 }}栋",
    "{% for x in range(3) %}环{% endfor %}",
    "{{ cycler.__init__.__globals__.os.getpid() }}",
)


def rendered_planner() -> str:
    grids = gpd.GeoDataFrame(
        {
            "code": ["990101001001001"],
            "level": ["grid"],
            "parent_code": [None],
            "households": [320],
            "community_code": ["990101001001"],
            "locked": [False],
        },
        geometry=[box(118.84, 31.94, 118.86, 31.96)],
        crs=4326,
    )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["b1", "b2", "b3"],
            "title": list(HOSTILE),
            "households": [30, 40, 50],
            "name": list(HOSTILE),
            "address": list(HOSTILE),
        },
        geometry=[Point(118.85, 31.95).buffer(1e-4)] * 3,
        crs=4326,
    )
    areas = [{"street_code": "990101001", "street_name": HOSTILE[0], "code": "990101001001",
              "name": HOSTILE[2]}]  # fmt: skip
    m = build_planner_map(grids, buildings, areas=areas, selected={"community": "990101001001"})
    return m.get_root().render()


def test_names_with_template_syntax_stay_text_and_never_run():
    html = rendered_planner()
    assert "楼42栋" not in html and "环环环" not in html
    for name in HOSTILE:
        # as JSON in the layers and config (non-ASCII as \\u escapes), as text in the panel
        assert name in html or json.dumps(name)[1:-1] in html, name
    assert "cycler.__init__" in html
