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


@cache
def case_categories() -> dict[str, dict]:
    """The case categories by code, sub-categories flattened as ``parent.child`` and filled in
    with their parent's fields (see case_categories.json for the provenance)."""
    raw = json.loads((HERE / "case_categories.json").read_text(encoding="utf-8"))
    keys = ("level", "department", "deadline_hours", "priority", "to_department")
    out: dict[str, dict] = {}
    for top in raw["categories"]:
        base = {k: top[k] for k in keys}
        out[top["code"]] = {
            "code": top["code"], "name": top["name"], "name_en": top["name_en"], "parent": None,
            **base,
        }  # fmt: skip
        for sub in top.get("subcategories", []):
            code = f"{top['code']}.{sub['code']}"
            out[code] = {
                "code": code, "name": sub["name"], "name_en": sub["name_en"],
                "parent": top["code"], **base, **{k: sub[k] for k in keys if k in sub},
            }  # fmt: skip
    return out


def function_names(*, extras: bool = True) -> dict[str, str]:
    """Function codes → Chinese names: the six of 1+6+X, then the extras (the X)."""
    catalog = station_types()
    return {**catalog["functions"], **(catalog.get("extras", {}) if extras else {})}


def offered_by_type() -> dict[str, list[str]]:
    """What a station of each type offers by default: its functions, then its extras."""
    return {
        name: [*spec["functions"], *spec.get("extras", [])]
        for name, spec in station_types()["types"].items()
    }


def type_defaults(name: str) -> dict:
    """A type's icon and default opening hours ({} for an unknown type)."""
    spec = station_types()["types"].get(name)
    if spec is None:
        return {}
    return {"icon": spec.get("icon"), "opening_hours": spec.get("opening_hours")}
