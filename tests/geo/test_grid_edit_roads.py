"""Barrier lines are remembered by the roads' content: the same roads give the same lines, other
roads (geometry or class changed) their own."""

from __future__ import annotations

import shapely

from geo.crs import utm_crs
from geo.grids.edit.roads import _barrier_lines, _barriers
from geo.grids.generate import BARRIER_CLASSES
from tests.geo.demo_scene import demo_city, scene


def _same(a, b) -> bool:
    return a is not None and b is not None and list(shapely.to_wkb(a)) == list(shapely.to_wkb(b))


def test_barriers_follow_the_roads_content():
    area, _, _ = scene(["990101001005"])
    crs = utm_crs(area)
    roads = demo_city().roads.copy()
    first = _barriers(roads, crs)
    assert _same(first, _barrier_lines(roads, crs))
    assert _barriers(roads.copy(), crs) is first  # same content: remembered

    lowered = roads.copy()
    barrier = lowered["class"].astype(str).str.lower().isin(BARRIER_CLASSES)
    lowered.loc[barrier.idxmax(), "class"] = "service"  # one barrier road no longer cuts
    fewer = _barriers(lowered, crs)
    assert len(fewer) == len(first) - 1
    assert _same(fewer, _barrier_lines(lowered, crs))

    shifted = roads.copy()
    shifted["geometry"] = shifted.geometry.translate(xoff=1e-4)
    moved = _barriers(shifted, crs)
    assert _same(moved, _barrier_lines(shifted, crs))
    assert not _same(moved, first)
    assert _barriers(None, crs) is None
