"""Edge moves and repair over HTTP on the stored layer of the demo community (瑞祥社区), real
PostGIS: every answer savable or refused with nothing written, untouched grids as stored."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape

from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.test_grids_db import load_city, rows

RUIXIANG = "990101001001"  # 瑞祥社区, first community of the demo's street office
UTM = 32650


@pytest.fixture
def demo(db_url, client, planner_headers):
    """The demo's street office loaded, 瑞祥社区 divided (layer version 1); a planner client."""
    client.headers.update(planner_headers)
    load_city(db_url, size="street")
    with transaction(db_url) as session:
        areas = store.select_communities(session, community=[RUIXIANG])
        run = generate_communities(session, areas)
        buildings = store.read_buildings(session, areas[0])
    assert len(run.generated) == 1
    points = buildings.set_index("building_id").to_crs(UTM).representative_point()
    return db_url, points


def _layer(client) -> list[dict]:
    response = client.get("/api/grids", params={"community": RUIXIANG})
    assert response.status_code == 200
    return response.json()["features"]


def _stored(url: str) -> dict[str, tuple]:
    found = rows(
        url,
        "SELECT code, parent_code, households, ST_AsBinary(geom) FROM grids "
        "WHERE valid_to IS NULL AND code LIKE :prefix",
        prefix=f"{RUIXIANG}%",
    )
    return {code: (parent, households, bytes(wkb)) for code, parent, households, wkb in found}


def _edge_move(features, points, rng):
    import geopandas as gpd

    grids = [f for f in features if f["properties"]["level"] == "grid"]
    metric = gpd.GeoSeries([shape(f["geometry"]) for f in grids], crs=4326).to_crs(UTM)
    for _ in range(200):
        k = int(rng.integers(len(grids)))
        shared = metric.intersection(metric.iloc[k]).length.to_numpy()
        touching = [j for j in np.flatnonzero(shared > 20) if j != k]
        members = [m for m in grids[k]["properties"]["members"] if m[1] > 0]
        if touching and members:
            break
    j = touching[int(rng.integers(len(touching)))]
    members.sort(key=lambda m: points[m[0]].distance(metric.iloc[j]))
    building = members[int(rng.integers(min(3, len(members))))][0]
    return building, grids[k]["properties"]["code"], grids[j]["properties"]["code"]


def test_thirty_saved_edge_moves_on_the_demo_community(client, demo):
    url, points = demo
    rng = np.random.default_rng(16)
    version, applied, refused = 1, 0, []
    for _ in range(30):
        features = _layer(client)
        building, source, target = _edge_move(features, points, rng)
        involved = {target} | {
            f["properties"]["code"]
            for f in features
            if f["properties"]["level"] == "grid"
            and building in dict(map(tuple, f["properties"]["members"]))
        }
        before = _stored(url)
        body = {"community": RUIXIANG, "building_ids": [building], "to_code": target}
        answer = client.post(
            "/api/grids/move", json={**body, "save": True, "base_version": version}
        )
        if answer.status_code == 422:
            assert "\u4e00" <= answer.json()["detail"][0] <= "\u9fff", answer.json()["detail"]
            assert _stored(url) == before  # refused: nothing written
            refused.append(answer.json()["detail"])
            continue
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["ok"] and result["saved"], [
            p["properties"]["message"] for p in result["problems"]["features"]
        ]
        version, applied = result["version"], applied + 1
        after = _stored(url)
        for code, row in before.items():
            grid = row[0] or code
            if grid not in involved:
                assert after.get(code) == row, code
    assert applied >= 20, refused


def test_repair_brings_an_overlapping_draft_back_and_saves(client, demo):
    url, _ = demo
    features = _layer(client)
    grids = {f["properties"]["code"]: f for f in features if f["properties"]["level"] == "grid"}
    codes = sorted(grids)
    a, b = max(
        ((x, y) for i, x in enumerate(codes) for y in codes[i + 1 :]),
        key=lambda p: (
            shape(grids[p[0]]["geometry"])
            .intersection(shape(grids[p[1]]["geometry"]).buffer(1e-6))
            .area
        ),
    )
    bigger = shapely.union(
        shape(grids[a]["geometry"]),
        shape(grids[a]["geometry"]).buffer(0.0001).intersection(shape(grids[b]["geometry"])),
    )
    grids[a]["geometry"] = mapping(bigger)
    draft = {"type": "FeatureCollection", "features": features}
    checked = client.post("/api/grids/validate", json={"community": RUIXIANG, "features": draft})
    assert checked.json()["ok"] is False
    before = _stored(url)
    preview = client.post("/api/grids/repair", json={"community": RUIXIANG, "features": draft})
    assert preview.status_code == 200, preview.text
    assert preview.json()["ok"] is True and preview.json()["saved"] is False
    assert _stored(url) == before
    assert set(preview.json()["report"]["changed"]) <= {a, b}
    saved = client.post(
        "/api/grids/repair", json={"community": RUIXIANG, "features": draft, "save": True}
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2
    stored = {c for c, row in _stored(url).items() if row[0] is None}
    assert stored == set(codes)
