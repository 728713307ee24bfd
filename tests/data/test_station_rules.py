"""OSM → station rules (station_types.json osm_rules, data.catalogs.station_from_osm): one
test per rule on a real tag combination, and the Xuanwu extract's non-stations."""

from __future__ import annotations

import pytest

from data.catalogs import station_from_osm, station_types

# (tags as mapped in OpenStreetMap, expected type, expected functions, rule id)
STATIONS = [
    ({"office": "government", "name": "百子亭社区党群服务驿站"}, "党群服务驿站", ["services"],
     "party_post"),
    ({"office": "government", "government": "administrative", "name": "长江路社区居委会"},
     "党群服务中心", ["services"], "community_office"),
    ({"amenity": "community_centre", "name": "锁金村社区邻里中心"}, "邻里中心",
     ["leisure", "services"], "neighbourhood_centre"),
    ({"amenity": "community_centre", "name": "老年活动中心"}, "邻里中心",
     ["elderly_care", "leisure"], "community_centre"),
    ({"amenity": "social_facility", "social_facility": "assisted_living",
      "social_facility:for": "senior", "name": "玄武区红山街道日间照料中心"}, "养老服务站",
     ["elderly_care"], "elderly_facility"),
    ({"amenity": "nursing_home", "name": "南京市玄武区社会福利院"}, "养老服务站", ["elderly_care"],
     "nursing_home"),
    ({"building": "yes", "shop": "yes", "name": "孝陵卫街道养老服务中心"}, "养老服务站",
     ["elderly_care"], "elderly_by_name"),
    ({"amenity": "social_facility", "social_facility": "group_home",
      "social_facility:for": "child", "name": "儿童之家"}, "托育点", ["childcare"],
     "child_facility"),
    ({"amenity": "kindergarten", "name": "南京市实验幼儿园"}, "托育点", ["childcare"],
     "kindergarten"),
    ({"amenity": "school", "name": "五老村幼儿园"}, "托育点", ["childcare"],
     "kindergarten_as_school"),
    ({"amenity": "clinic", "healthcare": "clinic", "name": "新街口社区卫生服务中心"},
     "社区卫生服务站", ["health"], "community_health"),
    ({"healthcare": "centre", "name": "玄武门社区卫生服务站"}, "社区卫生服务站", ["health"],
     "community_health_care"),
    ({"office": "yes", "name": "锁金村社区卫生服务中心"}, "社区卫生服务站", ["health"],
     "community_health_by_name"),
    ({"amenity": "restaurant", "name": "梅园新村社区长者食堂"}, "社区食堂",
     ["elderly_care", "food"], "canteen"),
    ({"amenity": "library", "name": "兰园社区图书室"}, "文体活动室", ["leisure"],
     "community_library"),
    ({"office": "ngo", "name": "大行宫社区文化活动室"}, "文体活动室", ["leisure"],
     "culture_room_by_name"),
    ({"office": "government", "name": "玄武区政务服务中心"}, "便民服务点", ["services"],
     "service_hall"),
]  # fmt: skip

# Real objects of the Xuanwu extract (nanjing_xuanwu_2021-06-12.osm) that are no stations.
NOT_STATIONS = [
    {"amenity": "arts_centre", "tourism": "museum", "name": "江苏美术馆"},
    {"amenity": "arts_centre", "building": "yes", "name": "江苏省美术馆"},
    {"amenity": "library", "building": "yes", "name": "南京图书馆"},
    {"amenity": "post_office", "name": "新街口邮局"},
    {"amenity": "clinic", "name": "秦淮区妇幼保健所", "addr:street": "紅花地"},
    {"amenity": "school", "name": "南京幼儿高等师范学校"},
    {"amenity": "hospital", "name": "江苏省中医院"},
    {"amenity": "townhall", "building": "yes", "name": "玄武区人民政府"},
    {"leisure": "fitness_centre", "name": "全民健身中心"},
    {"amenity": "theatre", "name": "南京文化艺术中心"},
    {"amenity": "bank"},
]


@pytest.mark.parametrize(("tags", "kind", "functions", "rule"), STATIONS)
def test_each_rule_on_real_tags(tags, kind, functions, rule):
    assert station_from_osm(tags) == (kind, functions, rule)


def test_every_rule_has_a_test():
    assert {r["id"] for r in station_types()["osm_rules"]} == {s[3] for s in STATIONS}


@pytest.mark.parametrize("tags", NOT_STATIONS, ids=lambda t: t.get("name", "bank"))
def test_museums_post_offices_city_libraries_are_no_stations(tags):
    assert station_from_osm(tags) is None


def test_functions_come_from_tags_too():
    # a community centre that also hosts a canteen and a health room: three functions
    tags = {"amenity": "community_centre", "name": "社区助餐点与卫生室", "healthcare": "centre"}
    kind, functions, _ = station_from_osm(tags)
    assert kind == "邻里中心"
    assert functions == ["health", "food", "leisure"]
    kind, functions, _ = station_from_osm({"amenity": "community_centre", "healthcare": "centre"})
    assert (kind, functions) == ("邻里中心", ["health", "leisure"])


def test_rules_name_known_types_and_functions():
    catalog = station_types()
    for rule in catalog["osm_rules"]:
        assert rule["type"] in catalog["types"], rule["id"]
        assert set(rule["functions"]) <= set(catalog["functions"]), rule["id"]
        assert rule["why"], rule["id"]
    for extra in catalog["function_rules"]:
        assert extra["function"] in catalog["functions"]
