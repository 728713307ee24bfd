"""geo.grids.limits: what the input already breaks, found before any division, with what to
change, in Chinese first."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.grids.limits import LimitError, check_limits, require_limits

CODE = "320102001001"
OTHER = "320102001002"


def area(*codes: str) -> gpd.GeoDataFrame:
    """One 0.01° square per code, side by side west to east."""
    boxes = [shapely.box(0.02 * i, 0, 0.02 * i + 0.01, 0.01) for i in range(len(codes))]
    return gpd.GeoDataFrame({"code": list(codes)}, geometry=boxes, crs=4326)


def homes(*households: int, x: float = 0.005) -> gpd.GeoDataFrame:
    points = [shapely.Point(x, 0.001 + 0.0005 * i) for i in range(len(households))]
    ids = [f"b{i}" for i in range(len(households))]
    return gpd.GeoDataFrame(
        {"building_id": ids, "households": households}, geometry=points, crs=4326
    )


def check(buildings, boundary, level="grid", grid=(300, 500), micro=(30, 50)):
    return check_limits(buildings, boundary, level=level, grid_bounds=grid, micro_bounds=micro)


def test_an_ordinary_community_breaks_nothing():
    assert check(homes(1200, 1800), area(CODE), level="both") == []


def test_more_than_999_grids_under_one_prefix_is_an_error_that_names_the_fix():
    [breach] = check(homes(250_000, 250_000), area(CODE))
    assert breach.error and breach.prefix == CODE
    assert "1,250 个网格" in breach.reason and "最多 999" in breach.reason
    assert "给出社区边界" in breach.reason
    # 999 grids of 400 households still fit
    assert check(homes(399_600), area(CODE)) == []


def test_micro_grids_without_grids_share_one_prefix():
    [breach] = check(homes(40_000), area(CODE), level="micro")
    assert breach.error and "微网格" in breach.reason
    assert check(homes(40_000), area(CODE), level="both") == []  # numbered under each grid


def test_a_boundary_without_buildings_is_an_error_for_that_boundary_only():
    [breach] = check(homes(400), area(CODE, OTHER))
    assert breach.error and breach.prefix == OTHER and "没有建筑" in breach.reason


def test_grid_bounds_that_no_micro_division_can_meet():
    [breach] = check(homes(60), area(CODE), level="both", grid=(60, 65), micro=(40, 50))
    assert breach.error and breach.prefix == "" and "--micro-min" in breach.reason
    assert check(homes(60), area(CODE), level="both", grid=(60, 65), micro=(30, 50)) == []
    [huge] = check(homes(400), area(CODE), level="both", grid=(300, 60_000))
    assert huge.error and "999" in huge.reason


def test_a_total_no_grid_count_can_hold_is_a_warning_with_bounds_that_would():
    [breach] = check(homes(550), area(CODE))
    assert not breach.error
    assert "--min 275" in breach.reason and "--max 550" in breach.reason
    assert require_limits([breach]) == [breach]
    [small] = check(homes(120), area(CODE))
    assert not small.error and "--min 120" in small.reason


def test_placeholder_codes_stop_at_999_polygons():
    boxes = [shapely.box(0.001 * i, 0, 0.001 * i + 0.0008, 0.001) for i in range(1000)]
    boundary = gpd.GeoDataFrame(geometry=boxes, crs=4326)
    points = [shapely.Point(0.001 * i + 0.0004, 0.0005) for i in range(1000)]
    buildings = gpd.GeoDataFrame(
        {"building_id": range(1000), "households": 400}, geometry=points, crs=4326
    )
    [breach] = check(buildings, boundary)
    assert breach.error and "12 位社区编码" in breach.reason


def test_require_limits_raises_every_error_in_chinese_first():
    breaches = check(homes(250_000, 250_000), area(CODE, OTHER))
    with pytest.raises(LimitError) as caught:
        require_limits(breaches)
    message = str(caught.value)
    assert message.startswith("开始划分之前发现")
    assert CODE in message and OTHER in message
    assert len(caught.value.breaches) == 2
