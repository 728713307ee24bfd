"""One huge boundary cut into parts (issue 19): the synthetic street office (29,134 households,
a road grid) given as one polygon is cut along its barrier roads into parts that each hold
grids within bounds; no grid takes buildings from two parts; codes are one sequence in
reading order over the whole boundary, micro-grids under their grid's code; and dividing the
parts through pickles (what a Dask worker sees) gives the same layer."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pytest
import shapely

import geo.grids.generate as generate
from data.synthetic import generate_city
from geo.grids.codes import sequence_codes
from geo.grids.partition import choose_k

PREFIX = "990101001001"


@pytest.fixture(scope="module")
def street():
    city = generate_city(size="street", seed=0)
    whole = shapely.union_all(city.communities.geometry.to_numpy())
    one = gpd.GeoDataFrame({"code": [PREFIX]}, geometry=[whole], crs=4326)
    return city, one


@pytest.fixture(scope="module")
def cut(street):
    """Both levels with a 3,000-household cut, the works seen on the way through pickles."""
    city, one = street
    works = []

    def through_pickles(divide, items):
        for work in items:
            works.append(work)
            yield pickle.loads(pickle.dumps(divide(pickle.loads(pickle.dumps(work)))))

    layer = generate.generate_grids(
        city.buildings, one, roads=city.roads, level="both", part_households=3000,
        map_areas=through_pickles,
    )  # fmt: skip
    return layer, works


def test_the_boundary_is_cut_into_parts_that_each_hold_grids(street, cut):
    city, _ = street
    layer, works = cut
    assert len(works) > 4
    assert [w.part for w in works] == list(range(len(works)))
    assert {w.prefix for w in works} == {PREFIX}
    held = [int(w.buildings["households"].sum()) for w in works]
    assert sum(held) == int(city.buildings["households"].sum())
    assert all(choose_k(h, 300, 500)[1] is None for h in held)  # each part can hold grids
    ids = [set(w.buildings["building_id"]) for w in works]
    assert sum(len(s) for s in ids) == len(set().union(*ids))  # a building in one part only
    polygons = [w.geom for w in works]  # parts tile the boundary (metres)
    total = shapely.area(shapely.union_all(polygons))
    assert sum(p.area for p in polygons) == pytest.approx(total, rel=1e-6)


def test_no_grid_takes_buildings_from_two_parts(cut):
    layer, works = cut
    part_of = {b: k for k, w in enumerate(works) for b in w.buildings["building_id"]}
    for members in layer.grids["members"]:
        assert len({part_of[b] for b, _ in members}) == 1
    assert layer.report["grid"]["within_bounds"] == layer.report["grid"]["count"]
    assert layer.report["grid"]["barrier_crossing"] == 0


def test_codes_are_one_sequence_in_reading_order(cut):
    layer, _ = cut
    g = layer.grids
    grids, micro = g[g["level"] == "grid"], g[g["level"] == "micro"]
    assert g["code"].is_unique
    assert sorted(grids["code"]) == [f"{PREFIX}{s:03d}" for s in range(1, len(grids) + 1)]
    projected = grids.to_crs(generate.utm_crs(grids)).centroid
    xy = np.column_stack([projected.x, projected.y])
    assert list(grids["code"]) == sequence_codes(PREFIX, xy)
    assert set(micro["parent_code"]) == set(grids["code"])
    pairs = zip(micro["code"], micro["parent_code"], strict=True)
    assert all(c.startswith(p) and len(c) == 18 for c, p in pairs)
    for code, households in zip(grids["code"], grids["households"], strict=True):
        assert micro.loc[micro["parent_code"] == code, "households"].sum() == households


def test_parts_give_the_same_layer_in_one_process(street, cut):
    city, one = street
    layer, _ = cut
    here = generate.generate_grids(
        city.buildings, one, roads=city.roads, level="both", part_households=3000
    )
    assert here.grids.to_wkb().equals(layer.grids.to_wkb())
    assert here.report == layer.report


def test_a_boundary_below_the_setting_stays_whole(street):
    city, one = street
    works = []

    def seen(divide, items):
        for work in items:
            works.append(work.part)
            yield divide(work)

    generate.generate_grids(city.buildings, one, roads=city.roads, map_areas=seen,
                            part_households=10**9)  # fmt: skip
    assert works == [None]
