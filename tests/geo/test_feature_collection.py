"""geo.io.feature_collection: geometries, ids and list properties as GeoJSON."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.io import feature_collection


def test_missing_and_empty_geometries_are_null_and_the_rest_round_trip():
    square = shapely.box(118.78, 32.05, 118.79, 32.06)
    frame = gpd.GeoDataFrame(
        {
            "code": ["a", "b", "c", "d"],
            "households": np.array([3, 0, 5, 7], dtype=np.int64),
            "members": [[["b1", 3]], [], None, [["b2", 4], ["b3", 3]]],
        },
        geometry=[square, None, shapely.Polygon(), shapely.Point(118.785, 32.055)],
        crs=4326,
    )
    out = feature_collection(frame, ["code", "households", "members"], id_column="code")
    features = out["features"]
    assert [f["id"] for f in features] == ["a", "b", "c", "d"]
    assert [f["geometry"] is None for f in features] == [False, True, True, False]
    assert shapely.equals(shapely.geometry.shape(features[0]["geometry"]), square)
    assert features[3]["geometry"] == {"type": "Point", "coordinates": [118.785, 32.055]}
    assert features[0]["properties"] == {"code": "a", "households": 3, "members": [["b1", 3]]}
    assert type(features[3]["properties"]["households"]) is int
    assert features[2]["properties"]["members"] is None
    assert "id" not in feature_collection(frame)["features"][0]
