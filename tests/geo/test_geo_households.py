"""estimate_households: numbers checked by hand on a 20 m × 30 m footprint."""

from __future__ import annotations

import math
from pathlib import Path

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


# --- residential or not: one case per rule, tags as they stand in the Xuanwu extract ---------


def _classified(rows: list[dict], **options) -> gpd.GeoDataFrame:
    from geo.households import classify_buildings

    return classify_buildings(_frame(rows), **options)


def _rule(row: dict, **options) -> tuple[float, str]:
    out = _classified([{"building_id": "b", **row}], **options)
    return float(out["residential_share"].iloc[0]), out["households_rule"].iloc[0]


@pytest.mark.parametrize(
    ("row", "share", "rule"),
    [
        (  # osm-way-860727738
            {
                "building_type": "yes",
                "name": "新街口",
                "tags": "public_transport=station;railway=station",
            },
            0.0,
            "非住宅：车站（railway=station）",
        ),
        ({"building_type": "residential"}, 1.0, "住宅：building=residential"),
        ({"building_type": "apartments", "name": "长发中心C座"}, 1.0, "住宅：building=apartments"),
        (
            {"building_type": "residential", "tags": "shop=convenience"},
            0.8,
            "商住：building=residential，有 shop=convenience",
        ),
        (
            {"building_type": "yes", "tags": "building:use=residential"},
            1.0,
            "住宅：building:use=residential",
        ),
        (
            {"building_type": "yes", "tags": "building:use=commercial"},
            0.0,
            "非住宅：building:use=commercial",
        ),
        ({"building_type": "office", "name": "金贸大厦"}, 0.0, "非住宅：building=office"),
        (
            {"building_type": "school", "name": "汇智楼（学生宿舍）"},
            1.0,
            "住宅：名称含“宿舍”（building=school）",
        ),
        (
            {"building_type": "yes", "name": "新华大厦", "tags": "office=yes"},
            0.0,
            "非住宅：office=yes",
        ),
        (
            {"building_type": "yes", "name": "南京图书馆", "tags": "amenity=library"},
            0.0,
            "非住宅：amenity=library",
        ),
        ({"building_type": "yes", "name": "全民健身中心"}, 0.0, "非住宅：名称含“中心”"),
        ({"building_type": "yes", "name": "广海大厦"}, 0.0, "非住宅：名称含“大厦”"),
        ({"building_type": "yes", "name": "某大学化学实验室"}, 0.0, "非住宅：名称含“实验室”"),
        ({"building_type": "yes", "name": "五台山体育馆"}, 0.0, "非住宅：名称含“体育馆”"),
        ({"building_type": "yes", "name": "江苏省烟草专卖局"}, 0.0, "非住宅：名称含“局”"),
        ({"building_type": "yes", "name": "华侨路二十六号小区"}, 1.0, "住宅：名称含“小区”（小区）"),
        ({"building_type": "yes", "name": "银城东苑3栋"}, 1.0, "住宅：名称含“苑”（小区）"),
        ({"building_type": "yes", "name": "科巷新寓"}, 1.0, "住宅：名称含“新寓”"),
        ({"building_type": "yes", "name": "中山路商住楼"}, 0.5, "商住：名称含“商住”"),
        ({"building_type": "", "name": None}, 0.5, "未知：building=yes，用途不明，按 50% 住宅估计"),
    ],
)
def test_each_rule_on_real_tags(row, share, rule):
    assert _rule(row) == (share, rule)


def test_unknown_rule_names_the_type_and_share():
    assert _rule({"building_type": "yes"}, unknown_share=0.4) == (
        0.4,
        "未知：building=yes，用途不明，按 40% 住宅估计",
    )


def _around(polygon: shapely.Polygon, metres: float) -> shapely.Polygon:
    utm = gpd.GeoSeries([polygon], crs=4326).to_crs(32650).buffer(metres)
    return utm.to_crs(4326).iloc[0]


def test_pois_inside_the_footprint():
    inside = _footprint().centroid
    outside = shapely.Point(inside.x + 0.01, inside.y)

    def pois(kind: str, value: str, point) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"kind": [kind], "value": [value]}, geometry=[point], crs=4326)

    untyped = {"building_type": "yes"}
    assert _rule(untyped, pois=pois("shop", "mall", inside)) == (0.0, "非住宅：内有 shop=mall")
    assert _rule(untyped, pois=pois("amenity", "bank", inside)) == (
        0.0,
        "非住宅：内有 amenity=bank",
    )
    assert _rule(untyped, pois=pois("office", "company", inside)) == (
        0.0,
        "非住宅：内有 office=company",
    )
    assert _rule(untyped, pois=pois("amenity", "restaurant", inside)) == (
        0.5,
        "商住：内有 amenity=restaurant",
    )
    assert _rule({"building_type": "apartments"}, pois=pois("shop", "bakery", inside)) == (
        0.8,
        "商住：building=apartments，内有 shop=bakery",
    )
    assert _rule(untyped, pois=pois("shop", "mall", outside))[0] == 0.5


def test_landuse_under_the_building():
    land = _around(_footprint(), 100)
    school = _around(_footprint(), 30)

    def areas(*rows: tuple) -> gpd.GeoDataFrame:
        keys, values, names, shapes = zip(*rows, strict=True)
        return gpd.GeoDataFrame(
            {"key": keys, "value": values, "name": names}, geometry=list(shapes), crs=4326
        )

    untyped = {"building_type": "yes"}
    residential = areas(("landuse", "residential", None, land))
    assert _rule(untyped, landuse=residential) == (1.0, "住宅：位于 landuse=residential 内")
    commercial = areas(("landuse", "commercial", None, land))
    assert _rule(untyped, landuse=commercial) == (0.0, "非住宅：位于 landuse=commercial 内")
    # the smallest area around the building decides: a school's grounds inside housing land
    both = areas(("landuse", "residential", None, land), ("amenity", "school", "金陵中学", school))
    assert _rule(untyped, landuse=both) == (0.0, "非住宅：位于 amenity=school（金陵中学） 内")
    # land use never overrides the building's own tags or name
    assert _rule({"building_type": "apartments"}, landuse=commercial)[0] == 1.0
    assert _rule({"building_type": "yes", "name": "苏美达大厦"}, landuse=residential)[0] == 0.0
    grass = areas(("landuse", "grass", None, land))
    assert _rule(untyped, landuse=grass)[0] == 0.5


def test_small_footprints_are_not_homes():
    utm = gpd.GeoSeries([shapely.box(660_000, 3_550_000, 660_004, 3_550_004)], crs=32650)
    kiosk = utm.to_crs(4326).iloc[0]
    assert _rule({"building_type": "yes", "geometry": kiosk}) == (0.0, "非住宅：占地不足 20 m²")


def test_estimates_record_source_and_rule():
    frame = _frame(
        [
            {
                "building_id": "tower",
                "building_type": "yes",
                "name": "新华大厦",
                "households": None,
            },
            {"building_id": "home", "building_type": "residential", "households": None},
            {"building_id": "counted", "building_type": "residential", "households": 12},
            {
                "building_id": "register",
                "building_type": "yes",
                "households": 30,
                "households_source": "register",
            },
        ]
    )
    out = estimate_households(frame).set_index("building_id")
    assert out.at["tower", "households"] == 0
    assert out.at["tower", "households_rule"] == "非住宅：名称含“大厦”"
    assert out.at["home", "households"] == 40 and out.at["home", "households_source"] == "estimated"
    assert out.at["home", "households_rule"] == "住宅：building=residential"
    assert out.at["counted", "households_source"] == "given"
    assert pd.isna(out.at["counted", "households_rule"])
    assert out.at["register", "households_source"] == "register"


@pytest.mark.skipif(
    not (Path(__file__).parents[2] / "data" / "nanjing_xuanwu").exists(),
    reason="Xuanwu extract not available",
)
def test_labelled_xuanwu_sample_floor():
    """Precision and recall of 'residential' on the hand-labelled sample (298 buildings)."""
    from bench.households import measure

    ours, baseline, _ = measure()
    assert ours.tp + ours.fn == 94 and sum(vars(ours).values()) == 298
    assert ours.precision >= 0.95 and ours.recall >= 0.95
    assert baseline.precision < 0.6  # the type-only rule this replaces


@pytest.mark.skipif(
    not (Path(__file__).parents[2] / "data" / "nanjing_xuanwu").exists(),
    reason="Xuanwu extract not available",
)
def test_xuanwu_buildings_named_in_issue_15_get_no_households():
    from bench.households import NAMED_IN_ISSUE, XUANWU
    from geo.osm import read_osm

    osm = read_osm(XUANWU)
    out = estimate_households(osm.buildings, landuse=osm.landuse, pois=osm.pois)
    named = out[out["name"].isin(NAMED_IN_ISSUE)]
    assert set(named["name"]) == set(NAMED_IN_ISSUE)
    assert (named["households"] == 0).all()
    assert (named["households_source"] == "estimated").all()
    assert named["households_rule"].str.startswith("非住宅：").all()
    homes = out["building_type"].isin(["residential", "apartments"])
    assert (out.loc[homes, "households"] > 0).all()
