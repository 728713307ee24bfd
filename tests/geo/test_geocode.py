"""Geocoding against a small hand-made address base (geo.geocode)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from geo.errors import InputError
from geo.geocode import build_index, geocode, geocode_many

P = "江苏省示范市滨江区"
ROWS = [
    ("B1", P + "柳荫路79号荷塘花园1栋", None, box(118.80, 32.00, 118.801, 32.001)),
    ("B2", P + "柳荫路79号荷塘花园2栋", None, box(118.802, 32.00, 118.803, 32.001)),
    ("C1", P + "柳荫路79号", "荷塘花园", box(118.799, 31.999, 118.804, 32.002)),
    ("B3", P + "杏花路39号荷塘国际1栋", None, Point(118.82, 32.01)),
    ("B4", P + "杏花路39号荷塘国际3栋", None, Point(118.821, 32.01)),
    ("C2", P + "杏花路39号", "荷塘国际", Point(118.8205, 32.0105)),
    ("B5", P + "运河路129号嘉禾名苑1栋", None, Point(118.83, 32.02)),
    ("C3", P + "运河路129号", "嘉禾名苑", Point(118.8305, 32.0205)),
    ("H1", P + "梧桐二巷13号", None, Point(118.84, 32.03)),
    ("R1", P + "光明路", "光明路", LineString([(118.85, 32.0), (118.85, 32.01)])),
    ("S1", P + "赣江路12号", "瑞祥社区党群服务中心", Point(118.86, 32.04)),
]


@pytest.fixture(scope="module")
def index():
    ids, addresses, names, geoms = zip(*ROWS, strict=True)
    frame = gpd.GeoDataFrame(
        {"id": ids, "address": addresses, "name": names}, geometry=list(geoms), crs=4326
    )
    frame["from_no"] = [None] * 9 + [1, None]
    frame["to_no"] = [None] * 9 + [90, None]
    return build_index(frame)


def check(index, text, level, matched_id=None):
    match = geocode(index, text)
    assert match.level == level, (text, match)
    if matched_id is not None:
        assert match.matched_id == matched_id, (text, match)
    assert 0.0 <= match.score <= 1.0
    return match


def test_exact_address(index):
    match = check(index, P + "柳荫路79号荷塘花园1栋", "houseno", "B1")
    assert match.score == 1.0
    assert 118.80 < match.lon < 118.801 and 32.0 < match.lat < 32.001


@pytest.mark.parametrize(
    "text",
    [
        "示范市滨江区柳荫路79号荷塘花园2栋",
        "柳荫路79号荷塘花园2栋",
        "荷塘花园2栋",
        "滨江区荷塘花园2栋",
    ],
)
def test_missing_levels(index, text):
    check(index, text, "houseno", "B2")


def test_homophone_typo(index):
    check(index, "荷唐花园2栋", "houseno", "B2")
    check(index, "柳阴路79号荷塘花园2栋", "houseno", "B2")


def test_near_shape_typo_needs_the_road_to_confirm(index):
    check(index, "运河路129号嘉木名苑1栋", "houseno", "B5")
    match = geocode(index, "嘉木名苑1栋")
    assert match.level not in ("houseno", "cellno", "roomno")


def test_traditional_full_width_and_numerals(index):
    check(index, "江蘇省示範市濱江區柳蔭路７９號荷塘花園１棟", "houseno", "B1")
    check(index, "荷塘花园二栋", "houseno", "B2")
    check(index, "荷塘花园２号楼", "houseno", "B2")
    check(index, "荷塘 花园  2栋", "houseno", "B2")


@pytest.mark.parametrize("tail", ["旁边", "对面", "附近", "门口", "楼下", "门口的超市"])
def test_trailing_descriptions_are_ignored(index, tail):
    check(index, "荷塘花园2栋" + tail, "houseno", "B2")


def test_units_below_the_base_still_give_the_building(index):
    check(index, "荷塘花园1栋2单元301室", "houseno", "B1")
    check(index, "荷塘花园1-2-301", "houseno", "B1")


def test_alias(index):
    check(index, "嘉禾小区1栋", "houseno", "B5")
    check(index, "嘉禾名苑", "poi", "C3")


def test_ambiguous_alias_is_not_a_building(index):
    match = geocode(index, "荷塘小区1栋")  # 荷塘花园1栋 or 荷塘国际1栋
    assert match.level == "none" and match.lon is None and match.matched_id is None
    assert {c.matched_id for c in match.candidates} >= {"B1", "B3"}


def test_non_existent_building_number_gives_the_compound(index):
    check(index, "荷塘花园9栋", "poi", "C1")
    check(index, P + "杏花路39号荷塘国际2栋", "poi", "C2")
    # 荷塘国际 has a 3栋 and 荷塘花园 is one of its aliases, but 荷塘花园 is a name of its own
    check(index, "荷塘花园3栋", "poi", "C1")


def test_made_up_compound_on_a_real_door_is_not_a_building(index):
    match = check(index, "柳荫路79号金凤凰小区1栋", "roadno")
    assert match.matched_id in {"C1", "B1", "B2"}


def test_made_up_place_is_none_with_candidates(index):
    match = check(index, "金凤凰小区5栋", "none")
    assert match.lon is None and match.lat is None and match.matched_id is None
    assert match.candidates


def test_made_up_road_never_matches_a_building(index):
    match = geocode(index, P + "飞天路88号荷塘花园1栋")
    assert match.level not in ("houseno", "cellno", "roomno")


def test_roads_doors_and_names(index):
    check(index, P + "梧桐二巷13号", "roadno", "H1")
    check(index, "光明路", "road", "R1")
    door = check(index, "光明路45号", "roadno", "R1")
    assert 32.004 < door.lat < 32.006
    check(index, "瑞祥社区党群服务中心", "poi", "S1")
    check(index, "滨江区", "district")


def test_empty_and_many(index):
    assert geocode(index, "").level == "none"
    texts = ["荷塘花园1栋", "", "荷塘花园1栋", "嘉禾名苑1栋"]
    out = geocode_many(index, texts)
    assert [m.matched_id for m in out] == ["B1", None, "B1", "B5"]


def test_bad_base():
    frame = gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(0, 0)], crs=4326)
    with pytest.raises(InputError, match="address"):
        build_index(frame)
    frame = gpd.GeoDataFrame({"id": ["A"], "address": [""]}, geometry=[Point(0, 0)], crs=4326)
    with pytest.raises(InputError, match="empty"):
        build_index(frame)
