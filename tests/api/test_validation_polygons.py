"""check_geojson_geometry's quick path for plain (Multi)Polygons gives what shape() gives, and
anything less plain is still explained as before."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from api.validation import check_geojson_geometry
from geo.io import feature_collection
from tests.geo.demo_scene import RUIXIANG, scene

SQUARE = [[118.1, 32.0], [118.2, 32.0], [118.2, 32.1], [118.1, 32.1], [118.1, 32.0]]
HOLE = [[118.12, 32.02], [118.14, 32.02], [118.14, 32.04], [118.12, 32.02]]


def test_a_layer_of_polygons_comes_back_as_shape_makes_it():
    _, _, layer = scene([RUIXIANG])
    geometries = [f["geometry"] for f in feature_collection(layer)["features"]]
    geometries = json.loads(json.dumps(geometries))
    geometries.append({"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [[
        [119, 33], [119.1, 33], [119.1, 33.1], [119, 33]]]]})  # fmt: skip
    geometries.append(
        {"type": "Polygon", "coordinates": [[[118, 32], [119, 32], [119, 33], [118, 32]]]}
    )
    for geometry in geometries:
        got = check_geojson_geometry(geometry, kinds=("Polygon", "MultiPolygon"), valid=False)
        assert shapely.to_wkb(got) == shapely.to_wkb(shapely.force_2d(shape(geometry)))


@pytest.mark.parametrize(
    ("coordinates", "said"),
    [
        ([[*SQUARE[:4], [118.1, 32.2]]], "未闭合"),
        ([[[118.1, 32.0], [True, 32.0], *SQUARE[2:]]], "坐标须为数字"),
        ([[[118.1, 32.0], ["118.2", 32.0], *SQUARE[2:]]], "坐标须为数字"),
        ([[[y, x] for x, y in SQUARE]], "swap them"),
        ([[[118.1, 32.0], [118.2, 32.0], [118.1, 32.0]]], "Too few points"),
        ([[[118.1, 32.0], [118.2, float("nan")], *SQUARE[2:]]], "not a finite number"),
        ([[[13e6, 3.7e6], [13.1e6, 3.7e6], [13.1e6, 3.8e6], [13e6, 3.7e6]]], "projected metres"),
        ([], "is empty"),
    ],
)
def test_anything_less_plain_is_refused_with_its_reason(coordinates, said):
    with pytest.raises(ValueError, match=said):
        check_geojson_geometry({"type": "Polygon", "coordinates": coordinates})


def test_the_vertex_limit_holds_on_the_quick_path():
    with pytest.raises(ValueError, match="more than 4 vertices"):
        check_geojson_geometry({"type": "Polygon", "coordinates": [SQUARE]}, max_vertices=4)
    assert check_geojson_geometry({"type": "Polygon", "coordinates": [SQUARE]}, max_vertices=5)
