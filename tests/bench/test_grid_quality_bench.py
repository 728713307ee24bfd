"""The measures of bench/grid_quality.py on a layer made to have each defect once."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString, box

from bench.grid_quality import measure

X0, Y0, M = 118.90, 32.00, 1 / 100_000


def rect(x, y, w, h):
    return box(X0 + x * M, Y0 + y * M, X0 + (x + w) * M, Y0 + (y + h) * M)


def test_measure_counts_each_defect():
    area = gpd.GeoDataFrame({"code": ["320102002001"]}, geometry=[rect(0, 0, 100, 40)], crs=4326)
    buildings = gpd.GeoDataFrame(
        {"building_id": ["w", "e", "s"], "households": [20, 20, 0]},
        geometry=[rect(10, 10, 10, 10), rect(70, 10, 10, 10), rect(47, 5, 1, 1)],
        crs=4326,
    )
    pinholed = rect(0, 0, 100, 40).difference(rect(30, 30, 0.5, 0.5))  # a 0.25 m² hole
    grids = gpd.GeoDataFrame(
        {
            "code": ["320102002001001", "320102002001001001", "320102002001001002"],
            "level": ["grid", "micro", "micro"],
            "parent_code": [None, "320102002001001", "320102002001001"],
            "households": [40, 20, 20],
            "members": [[["w", 20], ["e", 20]], [["w", 20]], [["e", 20]]],
            "polsby_popper": [0.5, 0.6, 0.1],
        },
        geometry=[pinholed, rect(0, 0, 96, 40), rect(96, 0, 4, 40)],  # the east one 4 m wide
        crs=4326,
    )
    road = LineString([(X0 + 50 * M, Y0 - M), (X0 + 50 * M, Y0 + 41 * M)])
    barriers = gpd.GeoDataFrame({"class": ["river"]}, geometry=[road], crs=4326)
    figures = measure(grids, buildings, area, barriers)
    assert figures["pinholed_polygons"] == 1
    assert figures["thin_micro_grids"] == 1
    assert figures["barrier_crossing_grids"] == 1  # w and e lie on both sides of the river
    assert figures["polsby_popper_micro"] == 0.35
    # building e's point lies in the west micro-grid, which does not count it: stale counts
    assert figures["problems"]["warning:households_stale"] == 2
    assert figures["validation_warnings"] >= 2 and figures["validation_errors"] == 0
