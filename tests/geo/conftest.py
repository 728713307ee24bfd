"""Fixtures of the geo tests: the synthetic community city (seed 0) and its generated grids."""

from __future__ import annotations

import pytest

from data.synthetic import generate_city
from geo.grids.generate import generate_grids


@pytest.fixture(scope="module")
def city():
    return generate_city(size="community", seed=0)


@pytest.fixture(scope="module")
def layer(city):
    """Grids and micro-grids of every community of `city`."""
    return generate_grids(city.buildings, city.communities, roads=city.roads, level="both").grids
