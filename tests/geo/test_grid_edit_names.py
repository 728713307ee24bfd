"""Grids named as people name them in the editor's messages, comparisons and exports."""

from __future__ import annotations

import re

import pytest
from shapely import affinity

from api.grids.compare import grid_name as compared_name
from geo.errors import InputError
from geo.grids.edit import boundary_handles, merge_grids, reshape_boundary, validate_layer
from geo.grids.edit.messages import grid_name
from tests.geo.demo_scene import RUIXIANG, scene


def test_a_residents_committee_is_named_as_its_community():
    assert grid_name("320102003001001", "grid", "香铺营社区居委会") == "香铺营社区第1网格"
    assert grid_name("320102003001012", "grid", "某社区居民委员会") == "某社区第12网格"
    assert grid_name("990101001001003", "grid", "瑞祥社区") == "瑞祥社区第3网格"
    assert (
        grid_name("320102003001001002", "micro", "香铺营社区居委会") == "香铺营社区第1网格第2微网格"
    )


def test_comparisons_and_exports_use_the_same_names():
    for code in ("320102003001001", "320102003001001002"):
        assert compared_name("香铺营社区居委会", code) == grid_name(
            code, "micro" if len(code) == 18 else "grid", "香铺营社区居委会"
        )


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_problems_of_a_broken_layer_name_grids_and_the_community_without_codes():
    """A grid shifted over its neighbours: the gaps it leaves, the land of its grid in none of
    its micro-grids and micro-grids outside their grid are told by name (codes in English)."""
    area, buildings, layer = scene([RUIXIANG])
    assert area["name"].iloc[0] == "瑞祥社区"
    first = layer.index[layer["code"] == RUIXIANG + "001"][0]
    layer.loc[first, "geometry"] = affinity.translate(layer.at[first, "geometry"], 0.0008, 0.0004)
    problems = validate_layer(layer, buildings, area)
    errors = problems[problems["severity"] == "error"]
    kinds = set(errors["kind"])
    assert {"gap", "micro_not_nested", "overlap"} <= kinds, kinds
    for message in errors["message"]:
        assert not re.search(r"\d{12}", message), message
    gaps = errors.loc[errors["kind"] == "gap", "message"]
    assert any(m.startswith("瑞祥社区有 ") and "，邻接瑞祥社区第" in m for m in gaps), list(gaps)
    outside = errors.loc[errors["kind"] == "micro_not_nested", "message"]
    assert any("超出上级网格瑞祥社区第" in m for m in outside), list(outside)
    english = errors.loc[errors["kind"] == "gap", "message_en"]
    assert any(f"boundary polygon {RUIXIANG}" in m for m in english)  # codes in English


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_a_refused_corner_drag_names_the_grid_not_its_code():
    _, buildings, layer = scene([RUIXIANG])
    handle = boundary_handles(layer, level="grid").iloc[0]
    x, y = handle.geometry.x, handle.geometry.y
    code = handle["codes"][0]
    with pytest.raises(InputError) as refused:
        reshape_boundary(
            layer, buildings, level="grid", corner=(x, y), to=(x + 5e-5, y), locked=[code]
        )
    zh, en = str(refused.value).split(" (", 1)
    assert zh == f"第{int(code[12:])}网格已锁定，请先解锁", zh
    assert code in en


def test_a_refused_merge_names_the_grids_not_their_codes():
    _, _, layer = scene([RUIXIANG])
    grids = layer[layer["level"] == "grid"]
    codes = list(grids["code"])
    first = grids.geometry.iloc[0]
    apart = next(c for c, g in zip(codes, grids.geometry, strict=True) if not g.intersects(first))
    with pytest.raises(InputError) as refused:
        merge_grids(layer, [codes[0], apart])
    zh, en = str(refused.value).split(" (", 1)
    assert zh == f"第{int(apart[12:])}网格与第{int(codes[0][12:])}网格没有共同边界，不能合并", zh
    assert apart in en and codes[0] in en
