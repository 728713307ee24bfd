"""The JSON of an edit's answer, written in one pass.

An edit answers with the community's whole layer (~130 polygons on a street-size community).
Parsing each polygon's GeoJSON into Python lists only to encode it again took longer than the
rest of the answer; here GEOS's GeoJSON text goes into the answer as it is, and the properties
are encoded by pydantic-core. The result is the JSON api.routes.grid_edits.EditResponse
describes, value for value (tests/api/routes/test_grid_answers.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pydantic_core
import shapely

from api.grids.edits import LAYER_PROPERTIES, PROBLEM_PROPERTIES, EditResult
from geo.io import json_ready


def features_json(
    frame: gpd.GeoDataFrame, properties: Sequence[str], *, id_column: str | None = None
) -> bytes:
    """A GeoJSON FeatureCollection of `frame` (EPSG:4326, full precision), as JSON bytes."""
    geoms = frame.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    texts = shapely.to_geojson(geoms)
    columns = [frame[c].tolist() if c in frame.columns else [None] * len(frame) for c in properties]
    ids = frame[id_column].tolist() if id_column is not None else None
    features = []
    for k, text in enumerate(texts):
        shown = {
            name: json_ready(column[k]) for name, column in zip(properties, columns, strict=True)
        }
        head = b'{"type":"Feature",'
        if ids is not None:
            head += b'"id":' + _json(json_ready(ids[k])) + b","
        geometry = b"null" if empty[k] else text.encode()
        props = _json(shown)
        features.append(head + b'"geometry":' + geometry + b',"properties":' + props + b"}")
    return b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]}"


def _json(value) -> bytes:
    return pydantic_core.to_json(value, inf_nan_mode="null")


def edit_answer(result: EditResult) -> bytes:
    """An edit's answer: community, ok, saved, version, layer, problems and report."""
    head = {
        "community": result.community,
        "ok": bool(result.ok),
        "saved": bool(result.saved),
        "version": int(result.version),
    }
    layer = features_json(result.layer, LAYER_PROPERTIES, id_column="code")
    problems = features_json(result.problems, PROBLEM_PROPERTIES)
    report = _json(json_ready(result.report))
    return (
        _json(head)[:-1]
        + b',"layer":'
        + layer
        + b',"problems":'
        + problems
        + b',"report":'
        + report
        + b"}"
    )
