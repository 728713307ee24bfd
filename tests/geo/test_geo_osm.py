"""Reading OSM XML and PBF files into buildings, network and POI layers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import osmium
import pandas as pd
import pytest
import shapely
from osmium.osm import mutable

from geo.crs import to_metric
from geo.errors import InputError
from geo.osm import BUILDING_COLUMNS, NETWORK_COLUMNS, POI_COLUMNS, parse_count, read_osm

XUANWU = Path("/work/shared/data/nanjing_xuanwu/nanjing_xuanwu_2021-06-12.osm")

# A small town square near Nanjing: about 111 m per 0.001° of latitude, 94 m of longitude.
LON, LAT = 118.79, 32.05
D = 0.001


def _nodes() -> list[mutable.Node]:
    corners = {
        # building way 100: a square
        1: (LON, LAT),
        2: (LON + D, LAT),
        3: (LON + D, LAT + D),
        4: (LON, LAT + D),
        # relation 300: outer square 11-14, inner square 15-18 (the courtyard)
        11: (LON + 2 * D, LAT),
        12: (LON + 4 * D, LAT),
        13: (LON + 4 * D, LAT + 2 * D),
        14: (LON + 2 * D, LAT + 2 * D),
        15: (LON + 2.5 * D, LAT + 0.5 * D),
        16: (LON + 3.5 * D, LAT + 0.5 * D),
        17: (LON + 3.5 * D, LAT + 1.5 * D),
        18: (LON + 2.5 * D, LAT + 1.5 * D),
        # highway 200
        21: (LON, LAT - D),
        22: (LON + 5 * D, LAT - D),
        # amenity area 400 (a community centre mapped as a polygon)
        41: (LON + 6 * D, LAT),
        42: (LON + 7 * D, LAT),
        43: (LON + 7 * D, LAT + D),
        44: (LON + 6 * D, LAT + D),
    }
    nodes = [mutable.Node(id=i, location=xy, tags={}) for i, xy in corners.items()]
    shop = {
        "shop": "convenience",
        "name": "苏果超市",
        "addr:street": "中山路",
        "addr:housenumber": "18",
    }
    nodes.append(mutable.Node(id=50, location=(LON + D / 2, LAT - D / 2), tags=shop))
    return nodes


def _ways() -> list[mutable.Way]:
    building = {
        "building": "apartments",
        "building:levels": "6;7",
        "building:flats": "48",
        "name": "1号楼",
        "addr:city": "南京市",
        "addr:district": "玄武区",
        "addr:street": "中山路",
        "addr:housenumber": "20",
    }
    return [
        mutable.Way(id=100, nodes=[1, 2, 3, 4, 1], tags=building),
        mutable.Way(id=101, nodes=[11, 12, 13, 14, 11], tags={}),
        mutable.Way(id=102, nodes=[15, 16, 17, 18, 15], tags={}),
        mutable.Way(
            id=200,
            nodes=[21, 22],
            tags={"highway": "footway", "name": "步行道", "foot": "designated", "access": "yes"},
        ),
        mutable.Way(id=400, nodes=[41, 42, 43, 44, 41], tags={"amenity": "community_centre"}),
        # cut off by the extract: node 999 is not in the file
        mutable.Way(id=500, nodes=[1, 2, 999, 1], tags={"building": "yes"}),
        mutable.Way(id=501, nodes=[21, 999], tags={"highway": "service"}),
    ]


def _write(path: Path) -> Path:
    relation = mutable.Relation(
        id=300,
        members=[("w", 101, "outer"), ("w", 102, "inner")],
        tags={"type": "multipolygon", "building": "school", "building:levels": "4.0"},
    )
    writer = osmium.SimpleWriter(str(path))
    try:
        for node in _nodes():
            writer.add_node(node)
        for way in _ways():
            writer.add_way(way)
        writer.add_relation(relation)
    finally:
        writer.close()
    return path


@pytest.mark.parametrize("name", ["town.osm.pbf", "town.osm", "town.osm.bz2"])
def test_small_file_every_format(tmp_path, name):
    layers = read_osm(_write(tmp_path / name))

    b = layers.buildings
    assert list(b.columns) == [*BUILDING_COLUMNS, "geometry"]
    assert b.crs == "EPSG:4326"
    assert list(b["building_id"]) == ["osm-way-100", "osm-relation-300"]
    assert list(b["building_type"]) == ["apartments", "school"]
    assert list(b["floors"]) == [7, 4]
    assert str(b["floors"].dtype) == "Int64"
    assert b["households"].iloc[0] == 48 and pd.isna(b["households"].iloc[1])
    assert b["units"].isna().all()
    assert b["name"].iloc[0] == "1号楼"
    assert b["address"].iloc[0] == "南京市玄武区中山路20号"
    assert b["address"].iloc[1] is None
    assert list(b["source_row"]) == [1, 2]
    square, courtyard = b.geometry.iloc[0], b.geometry.iloc[1]
    assert square.geom_type == "Polygon" and len(square.interiors) == 0
    assert courtyard.geom_type == "Polygon" and len(courtyard.interiors) == 1
    # outer 2D x 2D minus inner D x D: three quarters of the outer square
    areas = to_metric(b).area
    assert areas.iloc[1] == pytest.approx(3 * areas.iloc[0], rel=1e-3)
    assert not courtyard.contains(shapely.Point(LON + 3 * D, LAT + D))

    n = layers.network
    assert list(n.columns) == [*NETWORK_COLUMNS, "geometry"]
    assert n.to_dict("records")[0] | {"geometry": None} == {
        "road_id": "osm-way-200",
        "name": "步行道",
        "class": "footway",
        "foot": "designated",
        "access": "yes",
        "source_row": 1,
        "geometry": None,
    }
    assert len(n) == 1
    road = shapely.LineString([(LON, LAT - D), (LON + 5 * D, LAT - D)])
    assert n.geometry.iloc[0].equals_exact(road, tolerance=1e-7)

    p = layers.pois.set_index("poi_id")
    assert list(layers.pois.columns) == [*POI_COLUMNS, "geometry"]
    assert sorted(p.index) == ["osm-node-50", "osm-way-400"]
    shop = p.loc["osm-node-50"]
    assert (shop["kind"], shop["value"], shop["name"]) == ("shop", "convenience", "苏果超市")
    assert shop["address"] == "中山路18号"
    assert shop.geometry.distance(shapely.Point(LON + D / 2, LAT - D / 2)) < 1e-7
    centre = p.loc["osm-way-400"]
    assert centre["kind"] == "amenity" and centre["value"] == "community_centre"
    assert shapely.box(LON + 6 * D, LAT, LON + 7 * D, LAT + D).contains(centre.geometry)

    assert layers.skipped == {
        "building way with missing node locations": 1,
        "highway way with missing node locations": 1,
    }


def test_area_pois_can_be_left_out(tmp_path):
    layers = read_osm(_write(tmp_path / "town.osm.pbf"), area_pois=False)
    assert list(layers.pois["poi_id"]) == ["osm-node-50"]


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="missing.osm.pbf"):
        read_osm(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(InputError, match="bad.osm"):
        read_osm(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("6", 6), ("6.0", 6), ("6;7", 7), ("5-6", 6), (" 12 ", 12), ("abc", None), (None, None)],
)
def test_parse_count(text, expected):
    assert parse_count(text, low=1, high=200) == expected


def test_parse_count_rejects_out_of_range():
    assert parse_count("0", low=1) is None
    assert parse_count("500", low=1, high=200) is None
    assert parse_count("0") == 0


def _xuanwu_truth() -> dict[str, int]:
    """Counts made independently with ElementTree: what read_osm should find."""
    root = ET.parse(XUANWU).getroot()
    nodes = {n.get("id"): n for n in root.iter("node")}

    def tags(element) -> dict[str, str]:
        return {t.get("k"): t.get("v") for t in element.findall("tag")}

    ways = {w.get("id"): w for w in root.iter("way")}

    def complete(way) -> bool:
        return all(nd.get("ref") in nodes for nd in way.findall("nd"))

    keys = ["building_ways", "building_relations", "incomplete_relations", "with_levels"]
    truth = dict.fromkeys([*keys, "highways", "poi_nodes"], 0)
    for way in ways.values():
        t = tags(way)
        refs = [nd.get("ref") for nd in way.findall("nd")]
        if t.get("building", "no") != "no" and refs[0] == refs[-1] and complete(way):
            truth["building_ways"] += 1
            truth["with_levels"] += "building:levels" in t
        if "highway" in t and complete(way) and len(set(refs)) >= 2:
            truth["highways"] += 1
    for relation in root.iter("relation"):
        t = tags(relation)
        if t.get("type") == "multipolygon" and t.get("building", "no") != "no":
            members = [m.get("ref") for m in relation.findall("member") if m.get("type") == "way"]
            if all(m in ways and complete(ways[m]) for m in members):
                truth["building_relations"] += 1
                truth["with_levels"] += "building:levels" in t
            else:
                truth["incomplete_relations"] += 1
    for node in nodes.values():
        if {"amenity", "shop", "office"} & set(tags(node)):
            truth["poi_nodes"] += 1
    return truth


@pytest.mark.skipif(not XUANWU.exists(), reason="Xuanwu extract not available")
def test_real_xuanwu_extract():
    truth = _xuanwu_truth()
    # what the file holds, checked once by hand; guards the independent count as well
    assert truth == {
        "building_ways": 1270,
        "building_relations": 7,
        "incomplete_relations": 1,
        "with_levels": 131,
        "highways": 384,
        "poi_nodes": 229,
    }
    layers = read_osm(XUANWU)
    b, n, p = layers.buildings, layers.network, layers.pois

    assert b["building_id"].str.startswith("osm-way-").sum() == truth["building_ways"]
    assert b["building_id"].str.startswith("osm-relation-").sum() == truth["building_relations"]
    assert (
        layers.skipped.get("building relation incomplete or with broken rings")
        == (truth["incomplete_relations"])
    )
    assert len(n) == truth["highways"]
    assert p["poi_id"].str.startswith("osm-node-").sum() == truth["poi_nodes"]

    for frame, id_column in ((b, "building_id"), (n, "road_id"), (p, "poi_id")):
        assert frame.crs == "EPSG:4326"
        assert frame[id_column].is_unique
        assert list(frame["source_row"]) == list(range(1, len(frame) + 1))
        west, south, east, north = frame.total_bounds
        assert 118.7 < west < east < 118.9 and 31.9 < south < north < 32.2
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert b.is_valid.mean() > 0.99
    assert set(n.geom_type) == {"LineString"}
    assert set(p["kind"]) == {"amenity", "shop", "office"}
    # every building:levels value in the file is a plain integer: all of them come through
    assert b["floors"].notna().sum() == truth["with_levels"]
    assert n["class"].value_counts()["footway"] == 118


@pytest.mark.skipif(not XUANWU.exists(), reason="Xuanwu extract not available")
def test_xuanwu_buildings_through_validation_and_estimation():
    from geo.households import estimate_households
    from geo.validate import validate_features

    buildings = read_osm(XUANWU).buildings
    checked = validate_features(buildings, kind="buildings")
    assert checked.problems == ()
    estimated = estimate_households(checked.frame)
    assert len(estimated) == len(buildings)
    assert estimated["households"].dtype == "int64" and (estimated["households"] >= 0).all()
    schools = estimated["building_type"] == "school"
    dormitory = estimated["name"].fillna("").str.contains("宿舍")  # 汇智楼（学生宿舍）
    assert dormitory.sum() == 1 and (estimated.loc[dormitory, "households"] > 0).all()
    assert schools.sum() > 0 and (estimated.loc[schools & ~dormitory, "households"] == 0).all()
    homes = estimated["building_type"].isin(["residential", "apartments"])
    assert (estimated.loc[homes, "households"] >= 1).all()
