"""estimate_households: numbers checked by hand on a 20 m × 30 m footprint."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSMismatchError, InputError
from geo.households import UNKNOWN_RESIDENTIAL_SHARE, estimate_households


def _footprint() -> shapely.Polygon:
    """A 20 m × 30 m rectangle (600 m²) in Nanjing, built in UTM 50N and stored in lon/lat."""
    utm = gpd.GeoSeries([shapely.box(660_000, 3_550_000, 660_020, 3_550_030)], crs=32650)
    return utm.to_crs(4326).iloc[0]


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    geometry = [r.pop("geometry", _footprint()) for r in rows]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geometry, crs="EPSG:4326")
    frame["source_row"] = np.arange(1, len(frame) + 1)
    return frame


def test_hand_computed_estimates():
    frame = _frame(
        [
            {"building_id": "apt6", "building_type": "apartments", "floors": 6, "households": None},
            {"building_id": "yes6", "building_type": "yes", "floors": 6, "households": None},
            {"building_id": "yes", "building_type": "yes", "floors": None, "households": None},
            {
                "building_id": "res",
                "building_type": "residential",
                "floors": None,
                "households": None,
            },
            {"building_id": "house", "building_type": "house", "floors": None, "households": None},
            {"building_id": "school", "building_type": "school", "floors": 4, "households": None},
            {
                "building_id": "office",
                "building_type": "office",
                "floors": None,
                "households": None,
            },
            {"building_id": "given", "building_type": "apartments", "floors": 6, "households": 7},
            {"building_id": "zero", "building_type": "school", "floors": None, "households": 0},
        ]
    )
    out = estimate_households(frame)

    share = UNKNOWN_RESIDENTIAL_SHARE
    assert share == 0.5
    expected = {
        "apt6": 40,  # floor(600 × 6 × 1.0 / 90) = 40
        "yes6": math.floor(600 * 6 * share / 90),  # 20
        "yes": math.floor(600 * 3 * share / 90),  # default 3 floors for 'yes': 10
        "res": math.floor(600 * 6 * 1.0 / 90),  # default 6 floors: 40
        "house": math.floor(600 * 2 * 1.0 / 90),  # default 2 floors: 13
        "school": 0,
        "office": 0,
        "given": 7,
        "zero": 0,
    }
    assert dict(zip(out["building_id"], out["households"], strict=True)) == expected
    assert out["households"].dtype == np.int64
    estimated = dict(zip(out["building_id"], out["households_estimated"], strict=True))
    assert estimated == {k: k not in {"given", "zero"} for k in expected}
    floors_estimated = set(out.loc[out["floors_estimated"], "building_id"])
    assert floors_estimated == {"yes", "res", "house"}
    assert out["floors_estimated"].dtype == bool
    # floors left as given; the input frame is not modified
    assert out["floors"].isna().tolist() == frame["floors"].isna().tolist()
    assert frame["households"].isna().sum() == 7
    assert "households_estimated" not in frame.columns


def test_existing_flags_kept_and_small_buildings_get_one():
    tiny = shapely.box(118.79, 32.05, 118.79005, 32.05005)  # about 4.7 m × 5.5 m
    frame = _frame(
        [
            {"building_type": "house", "households": 3, "households_estimated": True},
            {"building_type": "apartments", "households": None, "geometry": tiny, "floors": 1},
        ]
    )
    out = estimate_households(frame)
    assert out["households"].tolist() == [3, 1]
    assert out["households_estimated"].tolist() == [True, True]


def test_point_buildings_and_missing_columns():
    frame = gpd.GeoDataFrame(
        {"building_type": ["apartments", "house", "retail", None]},
        geometry=[shapely.Point(118.79, 32.05)] * 4,
        crs="EPSG:4326",
    )
    out = estimate_households(frame)
    # 24 per block, 1 per house, 0 for shops, untyped: floor(24 × 0.5) = 12
    assert out["households"].tolist() == [24, 1, 0, 12]
    assert out["households_estimated"].all()
    assert not out["floors_estimated"].any()
    no_type = gpd.GeoDataFrame(geometry=[_footprint()], crs="EPSG:4326")
    assert estimate_households(no_type, default_type="residential")["households"].tolist() == [40]


def test_options_change_the_estimate():
    frame = _frame([{"building_type": "apartments", "floors": None, "households": None}])
    assert estimate_households(frame, dwelling_m2=60)["households"].tolist() == [60]
    assert estimate_households(frame, floors_by_type={"apartments": 3})["households"].tolist() == [
        20
    ]
    assert estimate_households(frame, residential_types={"house"})["households"].tolist() == [0]
    assert estimate_households(frame, residential_types={"apartments": 0.75})[
        "households"
    ].tolist() == [30]


def test_bad_input():
    frame = _frame([{"building_type": "apartments", "households": -2}])
    with pytest.raises(InputError, match=r"whole number >= 0, got -2.* row 1"):
        estimate_households(frame)
    frame = _frame([{"building_type": "apartments", "households": 2.5}])
    with pytest.raises(InputError, match="row 1"):
        estimate_households(frame)
    with pytest.raises(CRSMismatchError, match="EPSG:32650"):
        estimate_households(_frame([{"building_type": "yes"}]).to_crs(32650))
    with pytest.raises(InputError, match="dwelling_m2"):
        estimate_households(_frame([{"building_type": "yes"}]), dwelling_m2=0)
