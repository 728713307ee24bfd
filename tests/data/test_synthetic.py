"""Tests of the synthetic city generator (data.synthetic)."""

from __future__ import annotations

import re
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from data.synthetic import STATION_SERVICES, SyntheticCity, generate_city, write_city

UTM = 32650
LAYERS = (
    "districts",
    "streets",
    "communities",
    "compounds",
    "buildings",
    "roads",
    "stations",
    "cases",
)
COLUMNS = {
    "districts": ["code", "name"],
    "streets": ["code", "name", "district_code"],
    "communities": ["code", "name", "street_code"],
    "compounds": ["compound_id", "name", "community_code", "kind", "address"],
    "buildings": [
        "building_id", "households", "households_estimated", "units", "floors", "building_type",
        "compound", "community_code", "address", "name",
    ],
    "roads": ["road_id", "name", "class", "from_no", "to_no"],
    "stations": [
        "station_id", "name", "type", "stars", "opening_hours", "services", "contact", "address",
        "community_code",
    ],
    "cases": ["case_id", "category", "description", "reported_at"],
}  # fmt: skip
ADDRESS = re.compile(r"^江苏省示范市滨江区(?P<road>\D+?)(?P<no>\d+)号")


@pytest.fixture(scope="module")
def street() -> SyntheticCity:
    return generate_city(size="street", seed=7)


@pytest.fixture(scope="module")
def small() -> SyntheticCity:
    return generate_city(size="community", seed=1)


def metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(UTM)


def test_same_seed_gives_identical_city():
    a, b = generate_city(size="community", seed=5), generate_city(size="community", seed=5)
    for layer in LAYERS:
        assert_geodataframe_equal(getattr(a, layer), getattr(b, layer))
    pd.testing.assert_frame_equal(a.workers, b.workers)


def test_same_seed_gives_identical_files(tmp_path):
    paths_a = write_city(generate_city(size="street", seed=2), tmp_path / "a")
    paths_b = write_city(generate_city(size="street", seed=2), tmp_path / "b")
    for layer, path in paths_a.items():
        assert path.read_bytes() == paths_b[layer].read_bytes(), layer


def test_different_seed_gives_different_city(small):
    other = generate_city(size="community", seed=2)
    assert small.buildings["address"].tolist() != other.buildings["address"].tolist()
    assert small.compounds["name"].tolist() != other.compounds["name"].tolist()


def test_unknown_size_is_rejected():
    with pytest.raises(ValueError, match="unknown size"):
        generate_city(size="province")


def test_crs_and_columns(street):
    for layer, columns in COLUMNS.items():
        frame = getattr(street, layer)
        assert frame.crs.to_epsg() == 4326, layer
        assert list(frame.columns[: len(columns)]) == columns, layer
        assert len(frame) > 0, layer
    assert list(street.workers.columns) == ["worker_id", "name", "phone", "role", "community_code"]
    b = street.buildings
    for col in ("households", "units", "floors"):
        assert b[col].dtype == np.int64, col
    assert b["households_estimated"].dtype == bool and not b["households_estimated"].any()
    assert street.stations["stars"].dtype == np.int64
    assert (
        str(street.roads["from_no"].dtype) == "Int64"
        and str(street.roads["to_no"].dtype) == "Int64"
    )
    assert str(street.cases["reported_at"].dt.tz) == "UTC"


def test_geometry_types(street):
    expected = {
        "districts": {"Polygon"},
        "streets": {"Polygon"},
        "communities": {"Polygon"},
        "compounds": {"Polygon"},
        "buildings": {"Polygon"},
        "roads": {"LineString"},
        "stations": {"Point"},
        "cases": {"Point"},
    }
    for layer, types in expected.items():
        frame = getattr(street, layer)
        assert set(frame.geom_type) == types, layer
        assert frame.is_valid.all(), layer


def test_city_lies_near_its_origin(street):
    west, south, east, north = street.districts.total_bounds
    assert 118.84 < west < 118.86 and 31.94 < south < 31.96
    assert east - west < 0.1 and north - south < 0.1


def test_ids_unique_and_formatted(street):
    patterns = {
        ("buildings", "building_id"): r"B\d{6}",
        ("compounds", "compound_id"): r"C\d{4}",
        ("stations", "station_id"): r"S\d{4}",
        ("roads", "road_id"): r"R\d{4}",
        ("workers", "worker_id"): r"W\d{4}",
        ("cases", "case_id"): r"K\d{6}",
    }
    every = []
    for (layer, column), pattern in patterns.items():
        ids = getattr(street, layer)[column]
        assert ids.is_unique, layer
        assert ids.str.fullmatch(pattern).all(), layer
        every += ids.tolist()
    assert len(every) == len(set(every))


def test_codes_follow_hierarchy(street):
    districts, streets, communities = street.districts, street.streets, street.communities
    assert districts["code"].tolist() == ["990101"] and districts["name"].tolist() == ["滨江区"]
    assert streets["code"].str.fullmatch(r"990101\d{3}").all()
    assert (streets["district_code"] == "990101").all()
    assert streets["name"].str.endswith("街道").all()
    assert communities["code"].str.fullmatch(r"\d{12}").all()
    assert (communities["code"].str[:9] == communities["street_code"]).all()
    assert communities["code"].is_unique and communities["name"].is_unique
    assert communities["name"].str.endswith("社区").all()
    assert set(street.buildings["community_code"]) == set(communities["code"])
    assert set(street.compounds["community_code"]) <= set(communities["code"])
    assert set(street.workers["community_code"]) == set(communities["code"])


def assert_tiles(parts: gpd.GeoDataFrame, whole) -> None:
    """``parts`` cover ``whole`` (one polygon) without gaps or overlaps."""
    area = whole.area
    assert abs(parts.area.sum() - area) / area < 1e-6
    assert shapely.union_all(parts.geometry.array).symmetric_difference(whole).area / area < 1e-6
    tree = shapely.STRtree(parts.geometry.array)
    left, right = tree.query(parts.geometry.array, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(
        shapely.intersection(parts.geometry.array[left[pairs]], parts.geometry.array[right[pairs]])
    )
    assert pairs.any()  # neighbours touch along shared roads
    assert overlap.max() < 1e-3  # square metres


def test_communities_tile_street_and_streets_tile_district(street, small):
    for city in (street, small):
        district = metric(city.districts).geometry.iloc[0]
        streets = metric(city.streets)
        communities = metric(city.communities)
        if len(streets) > 1:
            assert_tiles(streets, district)
        for code, outline in zip(streets["code"], streets.geometry, strict=True):
            members = communities[communities["street_code"] == code]
            if len(members) > 1:
                assert_tiles(members, outline)
            else:
                assert members.geometry.iloc[0].symmetric_difference(outline).area < 1e-3
    assert len(street.communities) > 1


def test_sizes(small, street):
    for layer in ("districts", "streets", "communities"):
        assert len(getattr(small, layer)) == 1, layer
    assert 2_000 <= small.buildings["households"].sum() <= 3_500
    assert len(street.streets) == 1 and 6 <= len(street.communities) <= 10
    assert 20_000 <= street.buildings["households"].sum() <= 35_000
    per_community = street.buildings.groupby("community_code")["households"].sum()
    assert per_community.between(1_500, 5_000).all()


def test_district_size_and_speed():
    t0 = time.perf_counter()
    city = generate_city(size="district", seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30
    assert len(city.districts) == 1 and len(city.streets) == 8
    assert city.buildings["households"].sum() >= 200_000
    per_street = city.communities.groupby("street_code").size()
    assert per_street.between(6, 10).all()
    per_community = city.buildings.groupby("community_code")["households"].sum()
    assert per_community.between(1_500, 5_000).all()
    assert city.buildings["building_id"].is_unique
    assert_tiles(metric(city.streets), metric(city.districts).geometry.iloc[0])


def test_unusual_community_shapes(street):
    communities = metric(street.communities)
    fill = communities.area / communities.minimum_rotated_rectangle().area
    assert (fill < 0.85).any()  # an L-shaped community
    assert (fill > 0.9).any()


def test_main_road_grid_is_irregular(street):
    roads = metric(street.roads)
    main = roads[roads["class"].isin(["primary", "secondary", "tertiary"])]
    assert set(main["class"]) == {"primary", "secondary", "tertiary"}
    assert main.length.between(200, 650).all()  # block edges
    deltas = [np.abs(np.diff(shapely.get_coordinates(g), axis=0))[0] for g in main.geometry]
    angles = [np.degrees(np.arctan2(d.min(), d.max())) for d in deltas]
    assert max(angles) > 1  # not axis-aligned
    assert len({round(length) for length in main.length}) > len(main) // 2  # jittered spacing


def test_roads(street):
    roads = street.roads
    assert set(roads["class"]) == {
        "primary", "secondary", "tertiary", "residential", "service", "footway",
    }  # fmt: skip
    unnamed = roads["class"].isin(["service", "footway"])
    assert roads.loc[unnamed, "name"].isna().all() and roads.loc[unnamed, "from_no"].isna().all()
    named = roads[~unnamed]
    assert named["name"].notna().all()
    assert (named["from_no"] <= named["to_no"]).all() and (named["from_no"] % 2 == 1).all()
    for _, group in named.groupby("name"):
        ranges = sorted(zip(group["from_no"], group["to_no"], strict=True))
        assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # no overlap


def test_compounds_inside_their_community(street):
    compounds = metric(street.compounds)
    communities = metric(street.communities).set_index("code")
    outlines = communities.geometry.reindex(compounds["community_code"]).array
    assert shapely.within(compounds.geometry.array, outlines).all()
    assert set(compounds["kind"]) <= {"towers", "midrise", "courtyard", "villas"}
    assert compounds["compound_id"].is_unique
    tree = shapely.STRtree(compounds.geometry.array)
    left, right = tree.query(compounds.geometry.array, predicate="overlaps")
    assert len(left) == 0


def test_buildings_inside_compounds_and_disjoint(street):
    buildings = metric(street.buildings)
    compounds = metric(street.compounds).set_index("compound_id")
    inside = buildings[buildings["compound"].notna()]
    assert len(inside) > 0.8 * len(buildings)
    outlines = compounds.geometry.reindex(inside["compound"]).array
    assert shapely.within(inside.geometry.array, outlines).all()
    communities = metric(street.communities).set_index("code")
    outlines = communities.geometry.reindex(buildings["community_code"]).array
    assert shapely.within(buildings.geometry.array, outlines).all()
    geoms = buildings.geometry.array
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all()
    compounds_with_buildings = set(inside["compound"])
    assert compounds_with_buildings == set(compounds.index)


def test_footprints_are_realistic_rectangles(street):
    buildings = metric(street.buildings)
    coords, owner = shapely.get_coordinates(buildings.geometry.array, return_index=True)
    assert (np.bincount(owner) == 5).all()
    sides = np.diff(coords.reshape(-1, 5, 2), axis=1)  # four sides per footprint
    following = np.roll(sides, -1, axis=1)
    cosine = np.einsum("nij,nij->ni", sides, following) / (
        np.linalg.norm(sides, axis=2) * np.linalg.norm(following, axis=2)
    )
    assert np.abs(cosine).max() < 1e-6  # right angles
    apartments = buildings[buildings["building_type"] == "apartments"]
    assert apartments.area.between(200, 2_000).all()
    towers = apartments[apartments["floors"] >= 18]
    assert towers.area.between(350, 1_100).all()  # about 20 x 40 m
    assert buildings.area.min() > 80


def test_households_by_kind(street):
    b = street.buildings.merge(
        street.compounds[["compound_id", "kind"]],
        left_on="compound",
        right_on="compound_id",
        how="left",
    )
    towers, mid = b[b["kind"] == "towers"], b[b["kind"] == "midrise"]
    court, villas = b[b["kind"] == "courtyard"], b[b["kind"] == "villas"]
    for part in (towers, mid, court, villas):
        assert len(part) > 0
    assert towers["floors"].between(18, 33).all() and towers["units"].between(2, 4).all()
    per_landing = towers["households"] / (towers["units"] * towers["floors"])
    assert per_landing.isin([2, 3, 4]).all()
    assert towers["households"].between(100, 400).all() and (towers["households"] > 50).any()
    assert mid["floors"].between(6, 7).all() and mid["units"].between(2, 6).all()
    assert (mid["households"] == mid["units"] * mid["floors"] * 2).all()
    assert court["floors"].between(1, 2).all() and court["households"].between(1, 8).all()
    assert villas["floors"].between(2, 3).all() and villas["households"].between(1, 2).all()
    assert set(b.loc[b["kind"].notna(), "building_type"]) <= {
        "apartments", "residential", "house", "detached", "semidetached_house",
    }  # fmt: skip
    other = b[b["compound"].isna()]
    assert {"school", "civic"} <= set(other["building_type"])
    assert (other["households"] == 0).all() and other["name"].notna().all()
    per_compound = b.groupby("compound")["households"].sum()
    assert (per_compound > 500).any()


def parse(addresses: pd.Series) -> pd.DataFrame:
    parts = addresses.str.extract(ADDRESS)
    assert parts.notna().all().all(), addresses[parts.isna().any(axis=1)].head()
    return parts.assign(no=parts["no"].astype(int))


def assert_fronting_road(frame: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, within_m: float):
    """Each address names a road whose number range holds the number, close to the feature."""
    parts = parse(frame["address"])
    named = roads[roads["name"].notna()]
    for (road, no), geom in zip(
        zip(parts["road"], parts["no"], strict=True), frame.geometry, strict=True
    ):
        match = named[(named["name"] == road) & (named["from_no"] <= no) & (named["to_no"] >= no)]
        assert len(match) == 1, (road, no)
        assert match.geometry.iloc[0].distance(geom) < within_m, (road, no)


def test_addresses_match_road_numbers(street):
    roads = metric(street.roads)
    assert_fronting_road(metric(street.compounds), roads, 400)
    buildings = metric(street.buildings)
    assert_fronting_road(buildings, roads, 450)
    assert street.buildings["address"].is_unique


def test_address_forms(street):
    b = street.buildings.merge(
        street.compounds[["compound_id", "kind", "name", "address"]].rename(
            columns={"name": "compound_name", "address": "compound_address"}
        ),
        left_on="compound",
        right_on="compound_id",
        how="left",
    )
    flats = b[b["kind"].isin(["towers", "midrise", "villas"])]
    expected = flats["compound_address"] + flats["compound_name"]
    assert all(a.startswith(e) for a, e in zip(flats["address"], expected, strict=True))
    assert flats["address"].str.fullmatch(r"江苏省示范市滨江区\D+\d+号\D+\d+栋").all()
    houses = b[b["kind"] == "courtyard"]
    assert houses["address"].str.fullmatch(r"江苏省示范市滨江区\D+[街巷]\d+号").all()
    lanes = set(parse(houses["address"])["road"])
    assert lanes <= set(street.roads.loc[street.roads["class"] == "residential", "name"])


def test_stations(street):
    stations, communities = metric(street.stations), metric(street.communities)
    assert set(stations["type"]) <= set(STATION_SERVICES)
    per = stations.groupby("community_code")
    assert (per.size().between(2, 4)).all() and len(per) == len(communities)
    centres = stations[stations["type"] == "党群服务中心"]
    assert centres["community_code"].is_unique and len(centres) == len(communities)
    assert stations["stars"].between(3, 5).all()
    assert stations["opening_hours"].str.fullmatch(r"\d\d:\d\d-\d\d:\d\d").all()
    assert stations["services"].str.len().gt(0).all() and stations["contact"].str.len().gt(6).all()
    outlines = communities.set_index("code").geometry.reindex(stations["community_code"]).array
    assert shapely.within(stations.geometry.array, outlines).all()
    assert parse(stations["address"])["no"].gt(0).all()


def test_workers(street):
    workers = street.workers
    hh = street.buildings.groupby("community_code")["households"].sum()
    roles = workers.groupby(["community_code", "role"]).size().unstack(fill_value=0)
    grids = (hh / 400).round().clip(lower=1).astype(int)
    assert (roles["grid_leader"] == grids.reindex(roles.index)).all()
    assert (roles["full_time"] == roles["grid_leader"]).all()
    assert (roles["part_time"] >= roles["grid_leader"]).all()
    assert workers["phone"].str.fullmatch(r"1[3-9]\d{9}").all() and workers["phone"].is_unique
    assert workers["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()


def test_cases(street):
    cases = metric(street.cases)
    households = street.buildings["households"].sum()
    assert abs(len(cases) - households / 200) <= len(street.communities)
    assert set(cases["category"]) <= {
        "environment", "safety_hazard", "dispute", "city_appearance", "public_facility",
        "social_assistance",
    }  # fmt: skip
    assert cases["category"].nunique() >= 4
    assert cases["description"].str.contains(r"[\u4e00-\u9fff]").all()
    union = shapely.union_all(metric(street.communities).geometry.array)
    assert shapely.within(cases.geometry.array, union).all()
    epoch = pd.Timestamp("2026-01-01T00:00Z")
    assert (cases["reported_at"] < epoch).all()
    assert (cases["reported_at"] > epoch - pd.Timedelta(days=366)).all()


def test_write_city_round_trip(small, tmp_path):
    paths = write_city(small, tmp_path)
    assert set(paths) == {*LAYERS, "workers"}
    for layer in LAYERS:
        back = gpd.read_file(paths[layer])
        frame = getattr(small, layer)
        assert len(back) == len(frame), layer
        assert back.crs.to_epsg() == 4326, layer
        assert set(COLUMNS[layer]) <= set(back.columns), layer
    back = gpd.read_file(paths["buildings"])
    assert back["households"].sum() == small.buildings["households"].sum()
    assert back["address"].tolist() == small.buildings["address"].tolist()
    workers = pd.read_csv(paths["workers"], dtype=str)
    pd.testing.assert_frame_equal(workers, small.workers)


def test_old_town_is_many_small_communities_without_towers():
    city = generate_city(size="old_town", seed=1)
    homes = city.buildings[city.buildings["households"] > 0]
    per = homes.groupby("community_code")["households"].sum()
    assert len(city.streets) == 4 and 36 <= len(city.communities) <= 56
    assert per.index.nunique() == len(city.communities)
    assert per.max() <= 1_200 and per.median() >= 500  # a compound may fall short of its target
    assert abs(per.sum() - 35_000) <= 0.03 * 35_000
    assert homes["households"].max() <= 84  # mid-rise at most: 6 units x 7 floors x 2
    assert not city.compounds["kind"].eq("towers").any()
