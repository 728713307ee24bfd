"""POST /api/grids/move at micro-grid level, real PostGIS: a building standing across two grids
moves its share inside one grid, saved (issue 16: B000044 on the demo street was refused)."""

from __future__ import annotations

from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.test_grids_db import load_city, rows
from tests.geo.test_grid_move_share import held_across_grids, touching_micro

COMMUNITY = "990101001004"  # the demo street's community with B000044


def test_a_micro_move_of_a_building_across_two_grids_is_saved(db_url, client, planner_headers):
    import geopandas as gpd
    from shapely.geometry import shape

    client.headers.update(planner_headers)
    load_city(db_url, size="street")
    with transaction(db_url) as session:
        generate_communities(session, store.select_communities(session, community=[COMMUNITY]))
    features = client.get("/api/grids", params={"community": COMMUNITY}).json()["features"]
    layer = gpd.GeoDataFrame(
        [f["properties"] for f in features],
        geometry=[shape(f["geometry"]) for f in features],
        crs=4326,
    )
    parent, found = held_across_grids(layer)
    assert found, "the demo street has a building standing across two grids"
    building, shares = found[0]
    grid = sorted({parent[c] for c in shares})[0]
    target = touching_micro(layer, grid, shares)
    grids_before = rows(
        db_url,
        "SELECT code, households, ST_AsBinary(geom) FROM grids WHERE valid_to IS NULL "
        "AND level = 'grid' AND code LIKE :p ORDER BY code",
        p=f"{COMMUNITY}%",
    )
    body = {"community": COMMUNITY, "building_ids": [building], "to_code": target}
    answer = client.post("/api/grids/move", json=body | {"save": True, "base_version": 1})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] and result["saved"] and result["version"] == 2
    members = {f["properties"]["code"]: dict(map(tuple, f["properties"]["members"]))
               for f in result["layer"]["features"]}  # fmt: skip
    assert members[target][building] == sum(h for c, h in shares.items() if parent[c] == grid)
    for code, households in shares.items():
        if parent[code] != grid:
            assert members[code][building] == households
    grids_after = rows(
        db_url,
        "SELECT code, households, ST_AsBinary(geom) FROM grids WHERE valid_to IS NULL "
        "AND level = 'grid' AND code LIKE :p ORDER BY code",
        p=f"{COMMUNITY}%",
    )
    assert [(c, h, bytes(g)) for c, h, g in grids_after] == [
        (c, h, bytes(g)) for c, h, g in grids_before
    ]
