"""Validation of writes: geometry checks (hypothesis over generated inputs), text checks, and
the grid endpoints refusing bad geometries with a 422 that names the problem, writing nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api import validation
from api.settings import get_settings
from tests.api.routes.test_grid_edits import city, current_layer  # noqa: F401 (fixture)
from tests.api.test_grids_db import COMMUNITY, rows

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
lon = st.floats(73.0, 135.0)  # China
lat = st.floats(18.0, 54.0)


def ring(points: list[tuple[float, float]]) -> list[list[float]]:
    return [list(p) for p in points] + [list(points[0])]


def polygon(points) -> dict:
    return {"type": "Polygon", "coordinates": [ring(points)]}


# -- pure checks ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(anything, anything), min_size=0, max_size=12))
def test_any_polygon_is_accepted_valid_or_refused_with_a_reason(points):
    """Whatever arrives: a valid, in-range geometry comes back, or ValueError says why."""
    geometry = {"type": "Polygon", "coordinates": [[list(p) for p in points]]}
    try:
        geom = validation.check_geojson_geometry(geometry)
    except ValueError as exc:
        assert str(exc)
        return
    assert geom.is_valid and not geom.is_empty
    xy = shapely.get_coordinates(geom)
    assert np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= 180).all()
    assert (np.abs(xy[:, 1]) <= 90).all()


@settings(max_examples=100, deadline=None)
@given(st.floats(90.5, 135.0), lat, st.floats(0.0005, 0.05), st.floats(0.0005, 0.05))
def test_swapped_positions_are_named_as_swapped(x, y, w, h):
    """East of 90° E a swapped longitude is no latitude; further west the service area tells."""
    box = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    ok = validation.check_geojson_geometry(polygon(box))
    assert ok.is_valid
    with pytest.raises(ValueError, match=r"\[latitude, longitude\]: swap them"):
        validation.check_geojson_geometry(polygon([(b, a) for a, b in box]))


@settings(max_examples=100, deadline=None)
@given(st.floats(2e5, 8e5), st.floats(2e6, 6e6), st.floats(10, 500))
def test_projected_metres_are_named_as_projected(x, y, w):
    box = [(x, y), (x + w, y), (x + w, y + w), (x, y + w)]
    with pytest.raises(ValueError, match="projected metres"):
        validation.check_geojson_geometry(polygon(box))


@settings(max_examples=100, deadline=None)
@given(lon, lat, st.floats(0.001, 0.05))
def test_self_intersections_are_refused_with_the_place(x, y, d):
    bowtie = [(x, y), (x + d, y + d), (x + d, y), (x, y + d)]
    with pytest.raises(ValueError, match="Self-intersection"):
        validation.check_geojson_geometry(polygon(bowtie))
    kept = validation.check_geojson_geometry(polygon(bowtie), valid=False)
    assert not kept.is_valid


@settings(max_examples=50, deadline=None)
@given(st.integers(5, 400), lon, lat)
def test_vertex_limit(n, x, y):
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    circle = [(x + 0.01 * math.cos(a), y + 0.01 * math.sin(a)) for a in angles]
    geometry = polygon(circle)
    if n + 1 > 100:
        with pytest.raises(ValueError, match="more than 100 vertices"):
            validation.check_geojson_geometry(geometry, max_vertices=100)
    else:
        assert validation.check_geojson_geometry(geometry, max_vertices=100).is_valid


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": {"name": "EPSG:3857"}},
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "EPSG:32650",
    ],
)
def test_other_coordinate_systems_are_refused(crs):
    with pytest.raises(ValueError, match="wrong coordinate system"):
        validation.check_crs(crs)
    validation.check_crs({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    validation.check_crs(None)


def test_points():
    validation.check_lon_lat(118.8, 32.0)
    with pytest.raises(ValueError, match="swap"):
        validation.check_lon_lat(32.0, 118.8)
    with pytest.raises(ValueError, match="finite"):
        validation.check_lon_lat(math.nan, 32.0)
    with pytest.raises(ValueError, match="projected"):
        validation.check_lon_lat(13_225_000.0, 3_763_000.0)


class Texts(BaseModel):
    name: validation.Line
    note: validation.Text = ""
    ident: validation.Identifier = "x"


control = st.characters(codec="utf-8", categories=["Cc"]).filter(lambda c: c not in "\t\n\r")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=20), control, st.text(min_size=0, max_size=20))
def test_control_characters_are_refused(before, bad, after):
    text = before + bad + after
    assume(text.strip() and bad in text.strip())
    with pytest.raises(ValidationError, match="control character"):
        Texts(name=text)
    with pytest.raises(ValidationError, match="control character"):
        Texts(name="ok", note=text)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"])))
def test_plain_text_passes_stripped(text):
    assume(text.strip() and "\ufeff" not in text and len(text) <= 200)
    import unicodedata

    assert Texts(name=text).name == unicodedata.normalize("NFC", text).strip()


def test_text_lengths_and_line_breaks():
    with pytest.raises(ValidationError, match="at most 200"):
        Texts(name="长" * 201)
    with pytest.raises(ValidationError, match="control character U\\+000A"):
        Texts(name="a\nb")
    assert Texts(name="a", note="line one\nline two").note == "line one\nline two"
    with pytest.raises(ValidationError):
        Texts(name="a", ident="has space")


# -- the grid endpoints -----------------------------------------------------------------------


def _first_replaced(layer: dict, geometry) -> dict:
    first = {**layer["features"][0], "geometry": geometry}
    return {"type": "FeatureCollection", "features": [first, *layer["features"][1:]]}


def _history(url: str) -> list[tuple]:
    return rows(url, "SELECT id, valid_to, ST_AsBinary(geom) FROM grids ORDER BY id")


def _swapped(geometry: dict) -> dict:
    rings = [[[y, x] for x, y in r] for r in geometry["coordinates"]]
    return {"type": "Polygon", "coordinates": rings}


def _bowtie(geometry: dict) -> dict:
    (x0, y0), (x1, y1) = (
        np.min(geometry["coordinates"][0], 0),
        np.max(geometry["coordinates"][0], 0),
    )
    return polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def _projected(geometry: dict) -> dict:
    import pyproj

    to_utm = pyproj.Transformer.from_crs(4326, 32650, always_xy=True)
    rings = [[list(to_utm.transform(x, y)) for x, y in r] for r in geometry["coordinates"]]
    return {"type": "Polygon", "coordinates": rings}


def _elsewhere(geometry: dict) -> dict:  # the same shape moved to Beijing
    rings = [[[x - 2.4, y + 7.9] for x, y in r] for r in geometry["coordinates"]]
    return {"type": "Polygon", "coordinates": rings}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_bowtie, "Self-intersection"),
        (_swapped, "swap them to [longitude, latitude]"),
        (_projected, "projected metres"),
        (_elsewhere, "outside the service area"),
    ],
)
def test_grid_save_refuses_bad_geometry_and_writes_nothing(client, city, change, words):  # noqa: F811
    layer = current_layer(client)
    before = _history(city)
    sent = _first_replaced(layer, change(layer["features"][0]["geometry"]))
    response = client.post("/api/grids/save", json={"community": COMMUNITY, "features": sent})
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"], response.json()["detail"]
    assert _history(city) == before


def test_grid_save_refuses_other_crs_and_too_many_vertices(client, city, monkeypatch):  # noqa: F811
    layer = current_layer(client)
    before = _history(city)
    other = {**layer, "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}
    response = client.post("/api/grids/save", json={"community": COMMUNITY, "features": other})
    assert response.status_code == 422 and "wrong coordinate system" in response.text
    monkeypatch.setenv("WANGGE_MAX_VERTICES", "4")
    get_settings.cache_clear()
    try:
        response = client.post("/api/grids/save", json={"community": COMMUNITY, "features": layer})
    finally:
        monkeypatch.delenv("WANGGE_MAX_VERTICES")
        get_settings.cache_clear()
    assert response.status_code == 422 and "more than 4 vertices" in response.json()["detail"]
    bad_id = {"community": COMMUNITY, "building_ids": ["b\x00"], "to_code": "990101001001001"}
    assert client.post("/api/grids/move", json=bad_id).status_code == 422
    assert _history(city) == before


geometries = st.one_of(
    st.none(),
    st.lists(st.tuples(finite, finite), max_size=8).map(
        lambda pts: {"type": "Polygon", "coordinates": [[list(p) for p in pts]]}
    ),
    st.lists(st.tuples(st.floats(118.7, 118.9), st.floats(31.9, 32.1)), max_size=8).map(
        lambda pts: {"type": "Polygon", "coordinates": [[list(p) for p in pts]]}
    ),
    st.builds(
        lambda kind, c: {"type": kind, "coordinates": c},
        st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", "Bogus"]),
        st.recursive(
            finite | st.text(max_size=3), lambda c: st.lists(c, max_size=3), max_leaves=12
        ),
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(geometry=geometries)
def test_fuzzed_geometries_never_500_and_never_stored(client, city, geometry):  # noqa: F811
    layer = current_layer(client)
    before = _history(city)
    sent = _first_replaced(layer, geometry)
    response = client.post("/api/grids/save", json={"community": COMMUNITY, "features": sent})
    assert response.status_code in (409, 422), response.text
    assert isinstance(response.json()["detail"], str | list)
    assert _history(city) == before
