"""Catalogs shipped with the project (station types, case categories)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def station_types() -> dict:
    """The station-type catalog: {'functions': {code: 中文}, 'types': {name: {...}}}."""
    return json.loads((HERE / "station_types.json").read_text(encoding="utf-8"))


def functions_by_type() -> dict[str, list[str]]:
    return {name: spec["functions"] for name, spec in station_types()["types"].items()}


def station_type_for_osm(key: str, value: str) -> str | None:
    """The station type an OSM tag maps to, if any (e.g. amenity=clinic → 社区卫生服务站)."""
    tag = f"{key}={value}"
    for name, spec in station_types()["types"].items():
        if tag in spec["osm"]:
            return name
    return None
