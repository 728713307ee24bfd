"""Catalogs shipped with the project (station types, case categories)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def station_types() -> dict:
    """The station-type catalog: {'functions': {code: 中文}, 'types': {name: {...}}}."""
    return json.loads((HERE / "station_types.json").read_text(encoding="utf-8"))


def functions_by_type() -> dict[str, list[str]]:
    return {name: spec["functions"] for name, spec in station_types()["types"].items()}


def _tags_match(wanted: dict[str, list[str]], tags: Mapping[str, str]) -> bool:
    """Every wanted key present with one of its values ('*': any; 'a;b' values split)."""
    for key, values in wanted.items():
        have = [v.strip() for v in str(tags.get(key, "")).split(";") if v.strip()]
        if not have or ("*" not in values and not set(have) & set(values)):
            return False
    return True


def _has_any(name: str, words: list[str]) -> bool:
    return any(w in name for w in words)


def _rule_matches(rule: dict, tags: Mapping[str, str], name: str) -> bool:
    if "tags" in rule and not _tags_match(rule["tags"], tags):
        return False
    if "name_any" in rule and not _has_any(name, rule["name_any"]):
        return False
    return not _has_any(name, rule.get("name_none", []))


def station_from_osm(tags: Mapping[str, str]) -> tuple[str, list[str], str] | None:
    """(station type, functions, rule id) for an OSM object's tags, or None when it is no
    service place (see osm_rules in station_types.json; the first rule that matches wins).

    Functions: the rule's own, plus those of function_rules matching the tags or the name, in
    the order of the six.
    """
    catalog = station_types()
    name = tags.get("name") or tags.get("name:zh") or ""
    if any(_tags_match({k: v}, tags) for k, v in catalog["osm_exclude"].items()):
        return None
    rule = next((r for r in catalog["osm_rules"] if _rule_matches(r, tags, name)), None)
    if rule is None:
        return None
    found = set(rule["functions"])
    for extra in catalog["function_rules"]:
        by_tags = "tags" in extra and _tags_match(extra["tags"], tags)
        if by_tags or _has_any(name, extra.get("name_any", [])):
            found.add(extra["function"])
    return rule["type"], [f for f in catalog["functions"] if f in found], rule["id"]


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
