"""Validation reuses what it worked out for polygons an edit left unchanged: on seeded moves
and on broken drafts, the answer is the same as a check from nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity

from geo.crs import utm_crs
from geo.errors import InputError
from geo.grids.edit import holdings, move_buildings, prepare, validate, validate_layer
from geo.grids.edit.memo import Memo
from tests.geo.demo_scene import demo_city, scene
from tests.geo.test_grid_edit_moves import edge_move

STREET_COMMUNITY = "990101001005"
MEMOS = (
    (validate, "_CORES"),
    (validate, "_MICRO_HOLES"),
    (holdings, "_SHARED"),
    (prepare, "_IN_METRES"),
)


def checked_from_nothing(monkeypatch, layer, buildings, area) -> pd.DataFrame:
    kept = [(module, name, getattr(module, name)) for module, name in MEMOS]
    for module, name, memo in kept:
        monkeypatch.setattr(module, name, Memo(memo.size))
    try:
        return validate_layer(layer, buildings, area)
    finally:
        for module, name, memo in kept:
            monkeypatch.setattr(module, name, memo)


def assert_same(reused: pd.DataFrame, fresh: pd.DataFrame) -> None:
    assert list(reused.columns) == list(fresh.columns)
    plain = [c for c in fresh.columns if c != "geometry"]
    assert reused[plain].astype(object).where(reused[plain].notna(), None).to_dict("records") == (
        fresh[plain].astype(object).where(fresh[plain].notna(), None).to_dict("records")
    )
    assert list(shapely.to_wkb(reused.geometry.to_numpy())) == list(
        shapely.to_wkb(fresh.geometry.to_numpy())
    )


def broken(layer, rng) -> list[tuple[set[str], object]]:
    """Drafts with errors a planner can make, with the kinds one of which must be reported: a
    micro-grid dropped, one pushed 6 m, a grid shrunk by 4 m."""
    micro = np.flatnonzero((layer["level"] == "micro").to_numpy())
    grids = np.flatnonzero((layer["level"] == "grid").to_numpy())
    dropped = layer.drop(index=layer.index[rng.choice(micro)])
    pushed = layer.copy()
    k = layer.index[rng.choice(micro)]
    pushed.loc[k, "geometry"] = affinity.translate(layer.geometry[k], 6e-5, 0)
    shrunk = layer.copy()
    k = layer.index[rng.choice(grids)]
    metric = shrunk.geometry[[k]].to_crs(utm_crs(layer))
    shrunk.loc[k, "geometry"] = metric.buffer(-4).to_crs(4326).iloc[0]
    return [({"gap"}, dropped), ({"overlap", "micro_not_nested"}, pushed), ({"gap"}, shrunk)]


@pytest.fixture(scope="module")
def street():
    area, buildings, layer = scene([STREET_COMMUNITY])
    return area, buildings, layer, demo_city().roads


def test_moves_and_broken_drafts_are_checked_as_from_nothing(monkeypatch, street):
    area, buildings, layer, roads = street
    rng = np.random.default_rng(23)
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    hits = validate._MICRO_HOLES.hits, holdings._SHARED.hits
    validate_layer(layer, buildings, area)  # the stored layer, checked before its previews
    compared, kinds = 0, set()
    for building, _, target in [edge_move(layer, points, rng) for _ in range(6)]:
        try:
            moved = move_buildings(layer, buildings, area, [building], to_code=target, roads=roads)
        except InputError:
            continue
        for expected, draft in [(None, moved), *broken(moved, rng)]:
            reused = validate_layer(draft, buildings, area)
            assert_same(reused, checked_from_nothing(monkeypatch, draft, buildings, area))
            if expected is not None:
                found = expected & set(reused.loc[reused["severity"] == "error", "kind"])
                assert found, expected
                kinds |= found
            compared += 1
    assert compared >= 16
    assert kinds == {"gap", "overlap", "micro_not_nested"}
    # most grids came back unchanged: their micro-grid checks were reused, not redone
    assert validate._MICRO_HOLES.hits - hits[0] >= 5 * compared
    assert holdings._SHARED.hits > hits[1]


def test_a_layer_in_metres_is_the_same_taken_from_the_cache(street):
    area, _, layer, _ = street
    odd = layer.copy()
    x, y = odd.geometry.iloc[0].exterior.coords[0]
    bowtie = shapely.Polygon([(x, y), (x + 1e-4, y + 1e-4), (x + 1e-4, y), (x, y + 1e-4)])
    odd.loc[odd.index[0], "geometry"] = bowtie
    odd.loc[odd.index[1], "geometry"] = None
    crs = utm_crs(area)
    first = prepare._prepare_layer(odd, crs)
    hits = prepare._IN_METRES.hits
    again = prepare._prepare_layer(odd.copy(), crs)
    assert prepare._IN_METRES.hits - hits == len(odd)
    for a, b in ((first.raw, again.raw), (first.geom, again.geom)):
        assert list(shapely.to_wkb(a)) == list(shapely.to_wkb(b))
    assert first.geom[0].is_valid and not first.raw[0].is_valid and first.geom[1].is_empty
