"""Tests for geo.grids.edit.reshape: handles at the corners that matter, topological drags."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputError
from geo.grids.edit import boundary_handles, reshape_boundary, validate_layer
from tests.geo.demo_scene import scene

UTM = "EPSG:32650"
DIRECTIONS = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]


def _offset(x: float, y: float, metres: float, direction) -> tuple[float, float]:
    dx, dy = direction
    return (x + metres * dx / (111_320 * np.cos(np.radians(y))), y + metres * dy / 111_320)


def _metric(geoms) -> gpd.GeoSeries:
    return gpd.GeoSeries(list(geoms), crs=4326).to_crs(UTM)


def _outline(layer):
    """The outer edge of the grids (without the hairline seams a union leaves inside)."""
    union = shapely.union_all(layer[layer["level"] == "grid"].geometry.to_numpy())
    return max(shapely.get_parts(union), key=lambda p: p.area).exterior


def _errors(layer, city) -> gpd.GeoDataFrame:
    problems = validate_layer(layer, city.buildings, city.communities)
    return problems[problems["severity"] == "error"]


def _households_by_point(layer, city, level: str) -> dict[str, int]:
    """Households of each polygon from the buildings whose representative point it holds."""
    points = city.buildings.copy()
    points["geometry"] = points.geometry.representative_point()
    part = layer[layer["level"] == level][["code", "geometry"]]
    joined = gpd.sjoin(points, part, predicate="within")
    return joined.groupby("code")["households"].sum().astype(int).to_dict()


@pytest.fixture(scope="module")
def shared_drag(city, layer):
    """A drag of a corner shared by two grids that hands at least one building over."""
    found = boundary_handles(layer, level="grid")
    for row in found[found["kind"] == "corner"].itertuples():
        x, y = row.geometry.x, row.geometry.y
        for metres in (15, 30):
            for direction in DIRECTIONS:
                to = _offset(x, y, metres, direction)
                try:
                    out = reshape_boundary(
                        layer, city.buildings, level="grid", corner=(x, y), to=to
                    )
                except InputError:
                    continue
                before = dict(zip(layer["code"], layer["households"], strict=True))
                if any(before[c] != h for c, h in zip(out["code"], out["households"], strict=True)):
                    return row, to, out
    raise AssertionError("no drag of a shared corner moved a building")


def test_handles_are_few_and_at_corners_that_matter(layer):
    grids = layer[layer["level"] == "grid"]
    vertices = shapely.get_num_coordinates(grids.geometry.to_numpy())
    found = boundary_handles(layer, level="grid")
    per_grid = Counter(code for codes in found["codes"] for code in codes)
    assert set(per_grid) == set(grids["code"])
    assert max(per_grid.values()) <= 40 < int(vertices.max())
    assert set(found["kind"]) == {"junction", "corner", "boundary"}
    outline = _outline(layer)
    on_outline = _metric(found.geometry).distance(_metric([outline]).iloc[0]) < 0.05
    assert (on_outline == (found["kind"] == "boundary").to_numpy()).all()
    # junctions: three or more grids share the point; corners and boundary points two
    counts = found["codes"].map(len)
    assert (counts[found["kind"] == "junction"] >= 3).all()
    assert (counts[found["kind"] == "corner"] == 2).all()
    only = found["codes"].iloc[0][0]
    mine = boundary_handles(layer, level="grid", codes=[only])
    assert len(mine) == per_grid[only] and all(only in codes for codes in mine["codes"])
    micro = boundary_handles(layer, level="micro")
    assert len(micro) > 0 and set(micro["kind"]) <= {"junction", "corner", "boundary"}


def test_drag_on_a_shared_edge_moves_both_grids_and_their_buildings(city, layer, shared_drag):
    row, to, out = shared_drag
    assert _errors(out, city).empty
    a, b = row.codes
    old = layer.set_index("code").geometry
    new = out.set_index("code").geometry
    changed = {c for c in new.index if not shapely.equals(new[c], old[c])}
    assert {a, b} <= changed
    # the corner moved in both polygons, which still share their edge without overlap
    corner = _metric([shapely.Point(to)]).iloc[0]
    for code in (a, b):
        assert _metric([new[code].boundary]).distance(corner).iloc[0] < 0.01
    metric = _metric([new[a], new[b]])
    assert metric.iloc[0].intersection(metric.iloc[1]).area < 0.01
    assert metric.iloc[0].boundary.intersection(metric.iloc[1].boundary).length > 10
    # households recounted from the buildings' points, at both levels, and nothing lost
    grids = out[out["level"] == "grid"]
    by_point = _households_by_point(out, city, "grid")
    assert dict(zip(grids["code"], grids["households"], strict=True)) == {
        c: by_point.get(c, 0) for c in grids["code"]
    }
    assert grids["households"].sum() == layer.loc[layer["level"] == "grid", "households"].sum()
    micro = out[out["level"] == "micro"]
    sums = micro.groupby("parent_code")["households"].sum()
    assert (sums.reindex(grids["code"]).to_numpy() == grids["households"].to_numpy()).all()
    # untouched polygons keep their exact coordinates
    for code in set(new.index) - changed:
        assert shapely.to_wkb(new[code]) == shapely.to_wkb(old[code])


def test_micro_grids_follow_and_stay_nested(city, layer, shared_drag):
    _, _, out = shared_drag

    def outside(frame) -> dict[str, float]:
        grids = frame[frame["level"] == "grid"].set_index("code").geometry
        micro = frame[frame["level"] == "micro"]
        parts = [
            g.difference(grids[p])
            for g, p in zip(micro.geometry, micro["parent_code"], strict=True)
        ]
        return dict(zip(micro["code"], _metric(parts).area, strict=True))

    before, after = outside(layer), outside(out)
    # at most hairline seams: vertices snap to their neighbours' within 2 cm, which leaves
    # seams along edges of untouched micro-grids, far below the validator's 0.5 m
    assert max(after[c] - before[c] for c in after) < 0.25
    micro = out[out["level"] == "micro"]
    union = _metric([shapely.union_all(micro.geometry.to_numpy())]).area.iloc[0]
    assert union == pytest.approx(_metric(micro.geometry).area.sum(), abs=1.0)


def test_boundary_handle_slides_along_the_boundary(city, layer):
    found = boundary_handles(layer, level="grid")
    outline = _outline(layer)
    for row in found[found["kind"] == "boundary"].itertuples():
        x, y = row.geometry.x, row.geometry.y
        for direction in DIRECTIONS:
            try:
                out = reshape_boundary(layer, city.buildings, level="grid", corner=(x, y),
                              to=_offset(x, y, 8, direction))  # fmt: skip
            except InputError:
                continue
            assert _errors(out, city).empty
            new = _outline(out)
            moved = shapely.Polygon(new).symmetric_difference(shapely.Polygon(outline))
            assert _metric([moved]).area.iloc[0] < 0.01
            return
    raise AssertionError("no boundary handle could slide")


def test_micro_level_drag_keeps_the_grids(city, layer):
    found = boundary_handles(layer, level="micro")
    for row in found[found["kind"] != "boundary"].itertuples():
        x, y = row.geometry.x, row.geometry.y
        for direction in DIRECTIONS:
            try:
                out = reshape_boundary(layer, city.buildings, level="micro", corner=(x, y),
                              to=_offset(x, y, 6, direction))  # fmt: skip
            except InputError:
                continue
            assert _errors(out, city).empty
            old = layer[layer["level"] == "grid"].geometry.to_numpy()
            new = out[out["level"] == "grid"].geometry.to_numpy()
            same = [shapely.to_wkb(p) == shapely.to_wkb(q) for p, q in zip(old, new, strict=True)]
            assert all(same)
            assert not all(
                shapely.equals(p, q) for p, q in zip(layer.geometry, out.geometry, strict=True)
            )
            return
    raise AssertionError("no micro handle could move")


def test_refusals_say_why_in_chinese_first(city, layer):
    found = boundary_handles(layer, level="grid")
    outline = shapely.Polygon(_outline(layer))
    # a junction whose drag far across its neighbours stays inside the community, so that
    # the crossing edges (not the boundary) are what refuses it
    inner = next(
        row
        for row in found[found["kind"] == "junction"].itertuples()
        if outline.contains(shapely.Point(_offset(row.geometry.x, row.geometry.y, 250, (1, 0))))
    )
    x, y = inner.geometry.x, inner.geometry.y
    drag = {"level": "grid", "corner": (x, y)}
    with pytest.raises(InputError, match="不是可拖动的角点"):
        reshape_boundary(
            layer, city.buildings, level="grid", corner=_offset(x, y, 3, (1, 0)), to=(x, y)
        )
    # far across the neighbours: edges would cross
    with pytest.raises(InputError, match="交叉|消失"):
        reshape_boundary(layer, city.buildings, **drag, to=_offset(x, y, 250, (1, 0)))
    with pytest.raises(InputError, match="边界"):
        reshape_boundary(layer, city.buildings, **drag, to=(x + 0.05, y))
    edge = found[found["kind"] == "boundary"].iloc[0]
    ex, ey = edge.geometry.x, edge.geometry.y
    away = next(
        _offset(ex, ey, 60, d)
        for d in DIRECTIONS
        if outline.contains(shapely.Point(_offset(ex, ey, 60, d)))
        and outline.boundary.distance(shapely.Point(_offset(ex, ey, 60, d))) > 30 / 111_320
    )
    with pytest.raises(InputError, match="只能沿边界移动"):
        reshape_boundary(layer, city.buildings, level="grid", corner=(ex, ey), to=away)
    locked = list(inner.codes[:1])
    with pytest.raises(InputError, match="已锁定"):
        reshape_boundary(layer, city.buildings, **drag, to=_offset(x, y, 5, (0, 1)), locked=locked)
    with pytest.raises(InputError, match="level"):
        reshape_boundary(layer, city.buildings, level="street", corner=(x, y), to=(x, y))
    with pytest.raises(InputError, match="经纬度"):
        reshape_boundary(layer, city.buildings, **drag, to=(float("nan"), y))


def test_every_accepted_drag_leaves_a_layer_without_errors(city, layer):
    """Seeded drags of 10–25 m, also over micro-grid corners (the micro-grids are then cut to
    their grid's new polygon): refused, or valid."""
    rng = np.random.default_rng(7)
    found = boundary_handles(layer, level="grid")
    accepted = 0
    for k in rng.choice(len(found), size=12, replace=False):
        point = found.geometry.iloc[k]
        angle = rng.uniform(0, 2 * np.pi)
        to = _offset(point.x, point.y, rng.uniform(10, 25), (np.cos(angle), np.sin(angle)))
        try:
            out = reshape_boundary(
                layer, city.buildings, level="grid", corner=(point.x, point.y), to=to
            )
        except InputError as refused:
            assert str(refused)[0] > "\u4e00"  # the reason starts in Chinese
            continue
        accepted += 1
        errors = _errors(out, city)
        assert errors.empty, errors["message"].tolist()
    assert accepted >= 6


@pytest.mark.parametrize(
    ("community", "level"),
    [("990101001002", "grid"), ("990101001002", "micro"), ("990101001003", "grid")],
)
def test_street_demo_drags_are_refused_or_valid(community, level):
    """The street demo's layers are drawn to rounding (edges a few millimetres apart, a few
    crossing micro edges, buildings shared by grids): every accepted drag is still valid."""
    area, buildings, layer = scene([community])
    rng = np.random.default_rng(11)
    found = boundary_handles(layer, level=level)
    accepted = 0
    for k in rng.choice(len(found), size=12, replace=False):
        point = found.geometry.iloc[k]
        angle = rng.uniform(0, 2 * np.pi)
        to = _offset(point.x, point.y, rng.uniform(3, 15), (np.cos(angle), np.sin(angle)))
        try:
            out = reshape_boundary(layer, buildings, level=level, corner=(point.x, point.y), to=to)
        except InputError:
            continue
        accepted += 1
        problems = validate_layer(out, buildings, area)
        errors = problems[problems["severity"] == "error"]
        assert errors.empty, errors["message"].tolist()
    assert accepted >= 6
