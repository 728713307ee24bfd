"""The station-type catalog is consistent: known functions, icons, hours (OSM rules:
test_station_rules.py)."""

from __future__ import annotations

import re

from data.catalogs import (
    function_names,
    offered_by_type,
    station_types,
    type_defaults,
)

HOURS = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)[-A-Za-z0-9:,; ]+$")


def test_every_type_names_known_functions_an_icon_and_hours():
    six = set(station_types()["functions"])
    extras = set(station_types()["extras"])
    assert len(six) == 6
    for name, spec in station_types()["types"].items():
        assert spec["functions"], name
        assert set(spec["functions"]) <= six, name
        assert set(spec["extras"]) <= extras, name
        assert re.fullmatch(r"[a-z-]+", spec["icon"]), name
        assert HOURS.match(spec["opening_hours"]), name
    assert set(function_names()) == six | extras
    assert set(function_names(extras=False)) == six


def test_offered_and_defaults():
    assert offered_by_type()["邻里中心"][:6] == station_types()["types"]["邻里中心"]["functions"]
    assert "reading" in offered_by_type()["邻里中心"]
    assert type_defaults("托育点")["icon"] == "baby"
    assert type_defaults("不存在") == {}
