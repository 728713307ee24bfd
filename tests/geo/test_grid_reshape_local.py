"""reshape_boundary gives owners only to the faces near the drag: the same result as giving
every face of the layer one, on seeded drags at both levels."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.errors import InputError
from geo.grids.edit import boundary_handles, reshape
from tests.geo.demo_scene import scene


def _drag(layer, buildings, level, corner, to):
    try:
        return reshape.reshape_boundary(layer, buildings, level=level, corner=corner, to=to)
    except InputError as refused:
        return str(refused)


def _drags(layer, level: str, count: int, seed: int):
    rng = np.random.default_rng(seed)
    found = boundary_handles(layer, level=level)
    for k in rng.choice(len(found), size=min(count, len(found)), replace=False):
        point = found.geometry.iloc[k]
        angle, metres = rng.uniform(0, 2 * np.pi), rng.uniform(2, 25)
        lat = point.y
        to = (
            point.x + metres * np.cos(angle) / (111_320 * np.cos(np.radians(lat))),
            lat + metres * np.sin(angle) / 111_320,
        )
        yield (point.x, point.y), to


@pytest.mark.parametrize(
    ("community", "level", "count"),
    [("990101001005", "grid", 24), ("990101001005", "micro", 8), ("990101001002", "grid", 8)],
)
def test_local_faces_give_the_whole_layer_result(monkeypatch, community, level, count):
    _, buildings, layer = scene([community])
    outcomes = {"accepted": 0, "refused": 0}
    for corner, to in _drags(layer, level, count, seed=5):
        local = _drag(layer, buildings, level, corner, to)
        monkeypatch.setattr(reshape, "_WHOLE_LAYER", True)
        whole = _drag(layer, buildings, level, corner, to)
        monkeypatch.setattr(reshape, "_WHOLE_LAYER", False)
        if isinstance(whole, str):
            assert local == whole  # refused, for the same reason
            outcomes["refused"] += 1
            continue
        assert not isinstance(local, str), local
        assert local.index.equals(whole.index)
        assert local["code"].tolist() == whole["code"].tolist()
        assert local["households"].tolist() == whole["households"].tolist()
        same = shapely.to_wkb(local.geometry.values) == shapely.to_wkb(whole.geometry.values)
        assert same.all()
        outcomes["accepted"] += 1
    # both kinds of outcome are compared, and some drags change the layer
    assert outcomes["accepted"] >= count // 3
    assert outcomes["refused"] + outcomes["accepted"] == count


def one_by_one(geoms, vertices):
    """The reference: each polygon snapped on its own to the vertices near its edges."""
    tree = shapely.STRtree(vertices)
    out = geoms.copy()
    for r, geom in enumerate(geoms):
        near = vertices[np.sort(tree.query(shapely.boundary(geom), "dwithin", reshape.SNAP_DEG))]
        if len(near):
            out[r] = shapely.snap(geom, shapely.multipoints(near), reshape.SNAP_DEG)
    return out


@pytest.mark.parametrize("community", ["990101001005", "990101001002"])
def test_snapping_in_one_call_gives_each_polygon_its_own_result(community):
    _, _, layer = scene([community])
    for precision in (None, 1e-7):  # as generated, and rounded as GET /api/grids gives it
        geoms = layer.geometry.to_numpy()
        if precision:
            geoms = shapely.set_precision(geoms, precision)
        vertices = shapely.points(np.unique(shapely.get_coordinates(geoms), axis=0))
        together = reshape._snapped(geoms, vertices)
        assert list(shapely.to_wkb(together)) == list(shapely.to_wkb(one_by_one(geoms, vertices)))
    assert len(geoms) > 100
