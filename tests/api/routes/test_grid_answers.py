"""Edit answers written in one pass (api.grids.answers) are the JSON the EditResponse model
gives, value for value: over HTTP, and against the model built from the same result."""

from __future__ import annotations

import json

import pytest

from api.db import transaction
from api.grids import answers
from api.grids import edits as grid_edits
from api.routes.grid_edits import EditResponse, LayerCollection, ProblemCollection
from tests.api.routes.test_grid_edits import (  # noqa: F401 - city: the fixture
    by_code,
    city,
    current_layer,
    movable,
    neighbours,
)
from tests.api.test_grids_db import COMMUNITY


def through_the_model(result: grid_edits.EditResult) -> dict:
    """The answer as the route built it before: GeoJSON dicts validated into the model."""
    layer = grid_edits.feature_collection(
        result.layer, grid_edits.LAYER_PROPERTIES, id_column="code"
    )
    problems = grid_edits.feature_collection(result.problems, grid_edits.PROBLEM_PROPERTIES)
    model = EditResponse(
        community=result.community,
        ok=result.ok,
        saved=result.saved,
        version=result.version,
        layer=LayerCollection.model_validate(layer),
        problems=ProblemCollection.model_validate(problems),
        report=result.report,
    )
    return json.loads(model.model_dump_json())


@pytest.mark.usefixtures("city")
def test_answers_equal_the_model_for_edits_with_and_without_problems(db_url):
    with transaction(db_url) as session:
        stored = grid_edits._open(session, COMMUNITY).stored
    grids = sorted(stored.loc[stored["level"] == "grid", "code"])
    broken = grid_edits.feature_collection(stored, grid_edits.LAYER_PROPERTIES)
    broken["features"] = broken["features"][1:]  # a grid left out: a gap, buildings left out
    with transaction(db_url) as session:
        results = [
            grid_edits.split(session, COMMUNITY, grids[0], parts=2),
            grid_edits.merge(session, COMMUNITY, grids[:2]),
            grid_edits.repair(session, COMMUNITY, features=broken["features"]),
            grid_edits.validate(session, COMMUNITY, broken["features"]),
        ]
    assert not results[-1].ok and results[2].ok  # problems of both severities are compared
    for result in results:
        written = json.loads(answers.edit_answer(result))
        assert written == through_the_model(result)
        assert len(written["layer"]["features"]) == len(result.layer)


@pytest.mark.usefixtures("city")
def test_edits_over_http_answer_in_the_models_shape(client, db_url):
    layer = current_layer(client)
    a, b = neighbours(layer)
    _, _, moved, _, body = movable(client, db_url, layer)
    split = client.post("/api/grids/split", json={"community": COMMUNITY, "code": a})
    saved = client.post(
        "/api/grids/merge", json={"community": COMMUNITY, "codes": [a, b], "save": True}
    )
    for response in (split, saved):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
    for answer in (body, split.json(), saved.json()):
        assert EditResponse.model_validate(answer).model_dump(mode="json") == answer
    assert moved in dict(by_code(body["layer"])[b]["properties"]["members"])
    assert saved.json()["saved"] is True and saved.json()["version"] == 2
    assert set(by_code(current_layer(client))) == set(by_code(saved.json()["layer"]))
