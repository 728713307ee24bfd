"""generate_grids area by area (issue 19): a map over AreaWork gives the same layer as the
built-in one, even when each area crosses a process boundary as a pickle, and dividing a grid
reads only its own buildings (the conversions of building columns do not grow with the number
of grids in the area)."""

from __future__ import annotations

import pickle

import pytest
import shapely

import geo.grids.generate as generate
from data.synthetic import generate_city


@pytest.fixture(scope="module")
def street():
    return generate_city(size="street", seed=1)


def layer_bytes(layer) -> list[tuple]:
    g = layer.grids
    wkb = shapely.to_wkb(g.geometry.to_numpy())
    columns = (g["code"], g["parent_code"], g["households"], map(str, g["members"]), wkb)
    return list(zip(*columns, strict=True))


def test_areas_through_pickles_give_the_same_layer(street):
    """What a Dask worker sees: the work and the rows are pickled on the way."""
    calls = []

    def through_pickles(divide, works):
        for work in works:
            calls.append(work.prefix)
            yield pickle.loads(pickle.dumps(divide(pickle.loads(pickle.dumps(work)))))

    args = (street.buildings, street.communities)
    here = generate.generate_grids(*args, roads=street.roads, level="both")
    there = generate.generate_grids(
        *args, roads=street.roads, level="both", map_areas=through_pickles
    )
    assert calls == sorted(street.communities["code"])  # one work per community, in order
    assert layer_bytes(here) == layer_bytes(there)
    assert here.report == there.report


def test_an_area_gets_only_the_roads_that_meet_it(street):
    here = generate.generate_grids(street.buildings, street.communities, roads=street.roads)
    everything = []

    def all_roads(divide, works):
        for work in works:
            everything.append(len(work.barriers))
            lines = generate._barrier_lines(street.roads.to_crs(work.buildings.crs), None)
            yield divide(generate.AreaWork(**{**vars(work), "barriers": lines}))

    there = generate.generate_grids(
        street.buildings, street.communities, roads=street.roads, map_areas=all_roads
    )
    assert layer_bytes(here) == layer_bytes(there)
    assert max(everything) < len(generate._barrier_lines(street.roads, None))


def test_building_columns_are_read_once_per_area_whatever_the_number_of_grids(street, monkeypatch):
    one_area = street.streets[["code", "geometry"]]  # the street office's ~30,000 households
    calls = []
    original = generate._int
    monkeypatch.setattr(generate, "_int", lambda v: calls.append(1) or original(v))
    layer = generate.generate_grids(street.buildings, one_area, roads=street.roads, level="both")
    grids = int((layer.grids["level"] == "grid").sum())
    assert grids > 50
    # units and floors, once for the cells and once for the regions: not once per grid
    assert len(calls) <= 4 * len(street.buildings)
