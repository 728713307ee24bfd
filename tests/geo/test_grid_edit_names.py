"""Grids named as people name them in the editor's messages, comparisons and exports."""

from __future__ import annotations

from api.grids.compare import grid_name as compared_name
from geo.grids.edit.messages import grid_name


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
