"""The synthetic demo street office (seed 0) and grid layers of its communities, for the
grid-editing tests. 瑞祥社区 is the demo's first community."""

from __future__ import annotations

import functools
import pickle

from data.synthetic import generate_city
from geo.grids.generate import generate_grids

RUIXIANG = "990101001001"


@functools.cache
def demo_city():
    return generate_city(size="street", seed=0)


def scene(codes):
    """(boundary, buildings, layer with grids and micro-grids) of the communities `codes`:
    a test's own copy (members lists too) of a scene generated once per process."""
    return pickle.loads(_generated_scene(tuple(codes)))


@functools.cache
def _generated_scene(codes: tuple[str, ...]) -> bytes:
    city = demo_city()
    area = city.communities[city.communities["code"].isin(codes)]
    buildings = city.buildings[city.buildings["community_code"].isin(codes)]
    layer = generate_grids(buildings, area, roads=city.roads, level="both").grids
    return pickle.dumps((area, buildings, layer))
