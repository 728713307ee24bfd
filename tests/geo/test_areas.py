"""Approximate areas (geo.areas): the side of a boundary, Voronoi cells snapped to barriers."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.areas import approximate_areas, side_of
from geo.errors import CRSMismatchError, InputError

UTM = 32650  # metres, so the test shapes read as sizes on the ground


def square(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


def seeds(points, codes=None):
    codes = codes or [f"c{i}" for i in range(len(points))]
    return gpd.GeoDataFrame({"code": codes}, geometry=[shapely.Point(p) for p in points], crs=UTM)


def lines(*coords):
    return gpd.GeoDataFrame(geometry=[shapely.LineString(c) for c in coords], crs=UTM)


AREA = square(600_000, 3_500_000, 601_000, 3_501_000)


def test_side_of_keeps_the_part_holding_the_point():
    cut = shapely.LineString([(600_300, 3_499_000), (600_300, 3_502_000)])
    west = side_of(AREA, cut, inside=shapely.Point(600_100, 3_500_500))
    assert west.area == pytest.approx(300 * 1000)
    assert west.bounds[2] == pytest.approx(600_300)
    with pytest.raises(InputError, match="not inside"):
        side_of(AREA, cut, inside=shapely.Point(0, 0))


def test_areas_follow_the_barrier_not_the_voronoi_edge():
    # seeds 200 m and 800 m along x: the Voronoi edge is at x = 500; the road runs at x = 400
    road = lines([(600_400, 3_499_900), (600_400, 3_501_100)])
    out = approximate_areas(
        seeds([(600_200, 3_500_500), (600_800, 3_500_500)]), area=AREA, barriers=road
    )
    west, east = out.geometry
    assert west.bounds[2] == pytest.approx(600_400)  # snapped to the road
    assert east.bounds[0] == pytest.approx(600_400)
    assert west.area + east.area == pytest.approx(AREA.area)
    assert west.intersection(east).area == pytest.approx(0, abs=1e-6)


def test_a_block_with_two_seeds_is_shared_along_the_voronoi_edge():
    out = approximate_areas(seeds([(600_200, 3_500_500), (600_800, 3_500_500)]), area=AREA)
    west, east = out.geometry
    assert west.bounds[2] == pytest.approx(600_500)
    assert west.area == pytest.approx(east.area)


def test_seeds_outside_get_no_area_and_whole_blocks_go_to_the_nearest_cell():
    road = lines([(600_000 - 10, 3_500_700), (601_000 + 10, 3_500_700)])  # a northern block
    frame = seeds([(600_500, 3_500_300), (650_000, 3_500_000)], ["in", "out"])
    out = approximate_areas(frame, area=AREA, barriers=road)
    assert list(out["code"]) == ["in"]
    assert out.geometry.iloc[0].area == pytest.approx(AREA.area)  # both blocks, no seed north


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="unique"):
        approximate_areas(seeds([(600_100, 3_500_100), (600_200, 3_500_200)], ["a", "a"]),
                          area=AREA)  # fmt: skip
    with pytest.raises(InputError, match="share one point"):
        approximate_areas(seeds([(600_100, 3_500_100), (600_100, 3_500_100)]), area=AREA)
    with pytest.raises(CRSMismatchError):
        approximate_areas(
            seeds([(600_100, 3_500_100)]), area=AREA, barriers=lines([(0, 0), (1, 1)]).to_crs(4326)
        )
    empty = approximate_areas(seeds([(0, 0)]), area=AREA)
    assert empty.empty and list(empty.columns) == ["code", "geometry"]
