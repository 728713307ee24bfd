"""Redrawing grids over HTTP: validate, save with versions, move, lock, regenerate, split, merge,
history and undo, against the synthetic 'community' city in a throwaway PostGIS database."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import mapping, shape

from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.test_grids_db import COMMUNITY, load_city, rows

UTM = 32650  # the synthetic city lies at about 118.8° E


@pytest.fixture
def city(db_url, client, planner_headers):
    """The synthetic community with its grids and micro-grids as layer version 1; the client
    signed in as a planner."""
    client.headers.update(planner_headers)
    load_city(db_url)
    with transaction(db_url) as session:
        run = generate_communities(session, store.select_communities(session, every=True))
    assert len(run.generated) == 1
    return db_url


def current_layer(client) -> dict:
    response = client.get("/api/grids", params={"community": COMMUNITY})
    assert response.status_code == 200
    return response.json()


def by_code(collection: dict, level: str | None = None) -> dict[str, dict]:
    return {
        f["properties"]["code"]: f
        for f in collection["features"]
        if level is None or f["properties"]["level"] == level
    }


def stored_wkb(url: str, *, current: bool = True, version: int | None = None) -> dict[str, bytes]:
    """code → stored polygon as WKB, of the current layer or of one code version."""
    where = "valid_to IS NULL" if current and version is None else "version = :version"
    found = rows(url, f"SELECT code, ST_AsBinary(geom) FROM grids WHERE {where}", version=version)
    return {code: bytes(wkb) for code, wkb in found}


def to_metres(geom):
    import geopandas as gpd

    return gpd.GeoSeries([geom], crs=4326).to_crs(UTM).iloc[0]


def neighbours(collection: dict) -> tuple[str, str]:
    """The two grids sharing the longest edge."""
    grids = {c: to_metres(shape(f["geometry"])) for c, f in by_code(collection, "grid").items()}
    codes = sorted(grids)
    pairs = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]
    return max(pairs, key=lambda p: grids[p[0]].intersection(grids[p[1]]).length)


def problems_of(body: dict, kind: str, level: str | None = "grid") -> list[dict]:
    return [
        f
        for f in body["problems"]["features"]
        if f["properties"]["kind"] == kind and (level is None or f["properties"]["level"] == level)
    ]


# -- validate ---------------------------------------------------------------------------------


def test_unchanged_layer_validates_ok(client, city):
    layer = current_layer(client)
    response = client.post("/api/grids/validate", json={"community": COMMUNITY, "features": layer})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["version"] == 1
    assert body["problems"]["type"] == "FeatureCollection"
    assert all(f["properties"]["severity"] == "warning" for f in body["problems"]["features"])
    # the page may send codes only: households and members are recounted from the buildings
    keys = ("code", "level", "parent_code")
    for feature in layer["features"]:
        feature["properties"] = {k: feature["properties"][k] for k in keys}
    response = client.post("/api/grids/validate", json={"community": COMMUNITY, "features": layer})
    assert response.status_code == 200 and response.json()["ok"] is True


def test_grid_dragged_over_its_neighbour_overlaps_where_it_was_dragged(client, city):
    layer = current_layer(client)
    a, b = neighbours(layer)
    grids = by_code(layer)
    poly_a, poly_b = shape(grids[a]["geometry"]), shape(grids[b]["geometry"])
    # drag A's shared edge 20 m into B
    band = shapely.intersection(poly_b, poly_a.boundary.buffer(0.0002))
    dragged = shapely.union(poly_a, band)
    assert dragged.geom_type == "Polygon"
    grids[a]["geometry"] = mapping(dragged)
    response = client.post("/api/grids/validate", json={"community": COMMUNITY, "features": layer})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is False
    (overlap,) = problems_of(body, "overlap")
    props = overlap["properties"]
    assert {props["code"], props["other_code"]} == {a, b} and props["severity"] == "error"
    where = to_metres(shape(overlap["geometry"]))
    expected = to_metres(band)
    assert where.area == pytest.approx(expected.area, rel=0.02)
    assert where.symmetric_difference(expected).area < 0.02 * expected.area
    assert "overlap" in props["message_en"] and "重叠" in props["message"]


# -- save, versions, optimistic locking --------------------------------------------------------


def test_save_makes_version_2_and_keeps_version_1(client, city):
    before = stored_wkb(city)
    layer = current_layer(client)
    response = client.post(
        "/api/grids/save", json={"community": COMMUNITY, "features": layer, "base_version": 1}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["version"] == 2 and body["ok"] is True
    assert {f["id"] for f in body["layer"]["features"]} == set(before)
    # version 1 is history, version 2 current; untouched polygons kept their exact coordinates
    counts = rows(
        city, "SELECT version, count(*), bool_and(valid_to IS NULL) FROM grids GROUP BY 1"
    )
    assert sorted(counts) == [(1, len(before), False), (2, len(before), True)]
    assert stored_wkb(city) == before
    assert stored_wkb(city, current=False, version=1) == before
    history = client.get("/api/grids/history", params={"community": COMMUNITY}).json()
    assert history["current_version"] == 2
    first, second = history["versions"]
    assert (first["version"], first["current"], second["version"], second["current"]) == (
        1,
        False,
        2,
        True,
    )
    assert first["valid_to"] == second["valid_from"]
    assert first["grids"] == second["grids"] > 0 and first["households"] == second["households"]
    past = client.get("/api/grids", params={"community": COMMUNITY, "version": 1}).json()
    assert len(past["features"]) == len(before)


def test_stale_base_version_is_409_and_nothing_is_written(client, city):
    layer = current_layer(client)
    first = client.post(
        "/api/grids/save", json={"community": COMMUNITY, "features": layer, "base_version": 1}
    )
    assert first.status_code == 200
    before = rows(city, "SELECT id, valid_to FROM grids ORDER BY id")
    stale = client.post(
        "/api/grids/save", json={"community": COMMUNITY, "features": layer, "base_version": 1}
    )
    assert stale.status_code == 409
    assert "version 2, not 1" in stale.json()["detail"]
    assert rows(city, "SELECT id, valid_to FROM grids ORDER BY id") == before


def test_save_with_errors_is_422_with_the_problems_and_writes_nothing(client, city):
    layer = current_layer(client)
    a, b = neighbours(layer)
    grids = by_code(layer)
    grids[a]["geometry"] = mapping(
        shapely.union(shape(grids[a]["geometry"]), shape(grids[b]["geometry"]).buffer(-0.0003))
    )
    before = rows(city, "SELECT count(*) FROM grids")
    response = client.post("/api/grids/save", json={"community": COMMUNITY, "features": layer})
    assert response.status_code == 422
    body = response.json()
    assert "error(s), nothing was saved" in body["detail"]
    kinds = {f["properties"]["kind"] for f in body["problems"]["features"]}
    assert "overlap" in kinds
    assert all(f["properties"]["severity"] == "error" for f in body["problems"]["features"])
    assert rows(city, "SELECT count(*) FROM grids") == before


# -- move --------------------------------------------------------------------------------------


def nearest_first(url: str, layer: dict):
    """Neighbouring grids A and B, the stored buildings, and A's buildings nearest B first."""
    a, b = neighbours(layer)
    grids = by_code(layer, "grid")
    target = to_metres(shape(grids[b]["geometry"]))
    with transaction(url) as session:
        (area,) = store.select_communities(session, community=[COMMUNITY])
        buildings = store.read_buildings(session, area).set_index("building_id")
    members = sorted(
        (bid for bid, h in grids[a]["properties"]["members"] if h > 0),
        key=lambda bid: to_metres(buildings.geometry[bid]).distance(target),
    )
    return a, b, buildings, members


def movable(client, url: str, layer: dict) -> tuple[str, str, str, int, dict]:
    """A building of grid A whose land touches grid B, and the preview of moving it."""
    a, b, buildings, members = nearest_first(url, layer)
    for bid in members[:5]:
        body = {"community": COMMUNITY, "building_ids": [bid], "to_code": b}
        response = client.post("/api/grids/move", json=body)
        if response.status_code == 200:
            return a, b, bid, int(buildings.loc[bid, "households"]), response.json()
        assert "not adjacent" in response.json()["detail"]
    raise AssertionError("no building of the grid next to its neighbour can move")


def test_a_refused_move_names_the_building_as_people_do(client, city):
    _, b, buildings, members = nearest_first(city, current_layer(client))
    far = members[-1]
    body = {"community": COMMUNITY, "building_ids": [far], "to_code": b}
    response = client.post("/api/grids/move", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    zh, en = detail.split(" (", 1)  # "中文 (English)"
    title = buildings.loc[far, "title"]
    assert far not in title  # its address, not its id
    assert f"楼栋「{title}」" in zh and far not in zh, detail  # not adjacent, or cuts a grid
    assert far in en


def test_move_building_changes_both_grids_by_its_households_and_leaves_no_gap(client, city):
    layer = current_layer(client)
    households = {c: f["properties"]["households"] for c, f in by_code(layer, "grid").items()}
    a, b, building, h, preview = movable(client, city, layer)
    assert preview["saved"] is False and preview["version"] == 1
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NOT NULL") == [(0,)]
    response = client.post(
        "/api/grids/move",
        json={"community": COMMUNITY, "building_ids": [building], "to_code": b, "save": True},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["version"] == 2
    after = {c: f["properties"]["households"] for c, f in by_code(body["layer"], "grid").items()}
    assert after[a] == households[a] - h and after[b] == households[b] + h
    assert {c: v for c, v in after.items() if c not in (a, b)} == {
        c: v for c, v in households.items() if c not in (a, b)
    }
    moved = by_code(body["layer"], "grid")
    assert any(m[0] == building for m in moved[b]["properties"]["members"])
    assert not any(m[0] == building for m in moved[a]["properties"]["members"])
    # gap-free and overlap-free at both levels; the stored layer is what was returned
    for kind in ("gap", "overlap", "micro_not_nested"):
        assert problems_of(body, kind, level=None) == []

    def union(collection: dict):
        grids = by_code(collection, "grid").values()
        return to_metres(shapely.union_all([shape(f["geometry"]) for f in grids]))

    with transaction(city) as session:
        (area,) = store.select_communities(session, community=[COMMUNITY])
    outline = to_metres(area.geom)
    # the generated layer is off the outline by a few m² (1 cm snapping); the move adds none
    old, new = union(layer), union(body["layer"])
    assert outline.difference(new).area <= outline.difference(old).area + 0.01
    assert new.difference(outline).area <= old.difference(outline).area + 0.01
    stored = current_layer(client)
    assert {c: f["properties"]["households"] for c, f in by_code(stored, "grid").items()} == after


# -- lock, regenerate ----------------------------------------------------------------------------


def test_locked_grid_survives_regeneration_byte_for_byte(client, city):
    layer = current_layer(client)
    a, b = neighbours(layer)
    micro = [c for c, f in by_code(layer, "micro").items() if f["properties"]["parent_code"] == a]
    response = client.post("/api/grids/lock", json={"codes": [a]})
    assert response.status_code == 200
    assert response.json() == {"codes": [a], "locked": True, "changed": 1}
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NOT NULL") == [(0,)]
    before = stored_wkb(city)

    response = client.post(
        "/api/grids/regenerate", json={"community": COMMUNITY, "save": True, "base_version": 1}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["version"] == 2
    assert body["report"]["locked"] == [a]
    after = stored_wkb(city)
    for code in [a, *micro]:
        assert after[code] == before[code]
    locked = rows(city, "SELECT code FROM grids WHERE valid_to IS NULL AND locked")
    assert locked == [(a,)]
    assert by_code(body["layer"])[a]["properties"]["locked"] is True


def test_edits_of_a_locked_grid_are_refused(client, city):
    layer = current_layer(client)
    a, b = neighbours(layer)
    assert client.post("/api/grids/lock", json={"codes": [a]}).status_code == 200
    grids = by_code(layer)
    grids[a]["geometry"] = mapping(shape(grids[a]["geometry"]).buffer(-0.0001))
    checked = client.post("/api/grids/validate", json={"community": COMMUNITY, "features": layer})
    assert checked.status_code == 200 and checked.json()["ok"] is False
    (problem,) = problems_of(checked.json(), "locked_changed")
    assert problem["properties"]["code"] == a
    saved = client.post("/api/grids/save", json={"community": COMMUNITY, "features": layer})
    assert saved.status_code == 409 and f"unlock {a}" in saved.json()["detail"]
    merge = {"community": COMMUNITY, "codes": [a, b]}
    preview = client.post("/api/grids/merge", json=merge)
    assert preview.status_code == 200 and preview.json()["ok"] is False
    assert problems_of(preview.json(), "locked_changed")
    assert client.post("/api/grids/merge", json={**merge, "save": True}).status_code == 409
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NOT NULL") == [(0,)]
    # a micro-grid is locked with its grid, not on its own
    micro = next(c for c, f in by_code(layer, "micro").items() if f["properties"]["parent_code"])
    assert client.post("/api/grids/lock", json={"codes": [micro]}).status_code == 422
    response = client.post("/api/grids/unlock", json={"codes": [a]})
    assert response.json() == {"codes": [a], "locked": False, "changed": 1}
    assert client.post("/api/grids/merge", json={**merge, "save": True}).status_code == 200


# -- split, merge --------------------------------------------------------------------------------


def test_split_and_merge_preview_without_writing(client, city):
    layer = current_layer(client)
    a, b = neighbours(layer)
    grids = len(by_code(layer, "grid"))
    split = client.post("/api/grids/split", json={"community": COMMUNITY, "code": a})
    assert split.status_code == 200, split.text
    body = split.json()
    assert len(by_code(body["layer"], "grid")) == grids + 1 and body["saved"] is False
    assert a in body["report"]["new_codes"] and len(body["report"]["new_codes"]) == 2
    merged = client.post("/api/grids/merge", json={"community": COMMUNITY, "codes": [b, a]})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    kept = min(a, b)
    assert set(by_code(body["layer"], "grid")) == set(by_code(layer, "grid")) - {max(a, b)}
    total = sum(by_code(layer, "grid")[c]["properties"]["households"] for c in (a, b))
    assert by_code(body["layer"])[kept]["properties"]["households"] == total
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NOT NULL") == [(0,)]


# -- undo ------------------------------------------------------------------------------------


def test_undo_restores_the_previous_geometry_as_a_new_version(client, city):
    v1 = stored_wkb(city)
    layer = current_layer(client)
    a, b, building, _, _ = movable(client, city, layer)
    moved = client.post(
        "/api/grids/move",
        json={"community": COMMUNITY, "building_ids": [building], "to_code": b, "save": True},
    )
    assert moved.status_code == 200
    v2 = stored_wkb(city)
    assert v2[a] != v1[a] and v2[b] != v1[b]
    response = client.post("/api/grids/undo", json={"community": COMMUNITY, "base_version": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["version"] == 3
    assert body["report"] == {"restored_version": 1, "undone_version": 2}
    assert stored_wkb(city) == v1
    history = client.get("/api/grids/history", params={"community": COMMUNITY}).json()
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]
    assert [v["current"] for v in history["versions"]] == [False, False, True]
    # who made each version, from the audit log (version 1 was generated with no account)
    assert [(v["actor"], v["action"]) for v in history["versions"]] == [
        (None, None),
        ("planner", "grids.move"),
        ("planner", "grids.undo"),
    ]
    # versions 1 and 2 are still there as history
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NULL") == [(len(v1),)]
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(3,)]


def test_undo_without_an_earlier_version_is_409(client, city):
    response = client.post("/api/grids/undo", json={"community": COMMUNITY})
    assert response.status_code == 409 and "nothing to undo" in response.json()["detail"]


# -- bad input --------------------------------------------------------------------------------


def _with(layer: dict, **changes) -> dict:
    feature = dict(layer["features"][0])
    feature.update(changes)
    return {"type": "FeatureCollection", "features": [feature, *layer["features"][1:]]}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"geometry": {"type": "Point", "coordinates": [118.8, 32.0]}}, "Polygon or MultiPolygon"),
        ({"geometry": None}, "has no geometry"),
        (
            {"geometry": {"type": "Polygon", "coordinates": [[[118.8, 32], [200, 32], [1, 1]]]}},
            "out of range",
        ),
        ({"geometry": {"type": "Polygon", "coordinates": [[1, 2], [3, 4]]}}, "coordinates are not"),
        ({"properties": {"level": "grid"}}, "has no code"),
        ({"properties": {"code": "990101001002001"}}, "does not start with community code"),
        ({"properties": {"code": "990101001001001", "level": "block"}}, "level must be"),
    ],
)
def test_bad_features_are_422_with_a_reason(client, city, change, words):
    layer = current_layer(client)
    body = {"community": COMMUNITY, "features": _with(layer, **change)}
    for path in ("/api/grids/validate", "/api/grids/save"):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"] and "feature 1" in response.json()["detail"]
    assert rows(city, "SELECT count(*) FROM grids WHERE valid_to IS NOT NULL") == [(0,)]


def test_malformed_requests_are_422_and_unknown_codes_404(client, city):
    layer = current_layer(client)
    cases = [
        ("/api/grids/validate", {"community": COMMUNITY, "features": {"type": "Feature"}}),
        ("/api/grids/validate", {"community": COMMUNITY, "features": {**layer, "features": []}}),
        ("/api/grids/validate", {"community": "99", "features": layer}),
        ("/api/grids/save", {"community": COMMUNITY, "features": layer, "base_version": -1}),
        ("/api/grids/move", {"community": COMMUNITY, "building_ids": [], "to_code": "1" * 15}),
        ("/api/grids/merge", {"community": COMMUNITY, "codes": ["990101001001001"]}),
        ("/api/grids/split", {"community": COMMUNITY, "code": "990101001001001", "parts": 1}),
        ("/api/grids/regenerate", {"community": COMMUNITY, "level": "street"}),
        ("/api/grids/lock", {"codes": ["abc"]}),
    ]
    for path, body in cases:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["detail"]
    a = next(iter(by_code(layer, "grid")))
    unknown_building = {"community": COMMUNITY, "building_ids": ["nope"], "to_code": a}
    response = client.post("/api/grids/move", json=unknown_building)
    assert response.status_code == 422 and "nope" in response.json()["detail"]
    response = client.post("/api/grids/merge", json={"community": COMMUNITY, "codes": [a, a[:-1]]})
    assert response.status_code == 422
    other = "990101001009"
    for response in (
        client.post("/api/grids/validate", json={"community": other, "features": layer}),
        client.get("/api/grids/history", params={"community": other}),
        client.post("/api/grids/lock", json={"codes": ["990101001001999"]}),
    ):
        assert response.status_code == 404, response.text


def test_concurrent_saves_on_one_base_version_let_one_through(client, city):
    """Both read version 1; the row lock queues them, and the second sees version 2: 409."""
    from concurrent.futures import ThreadPoolExecutor

    from api.errors import ConflictError
    from api.grids import edits as grid_edits

    features = current_layer(client)["features"]

    def save() -> str:
        try:
            with transaction(city) as session:
                grid_edits.save(session, COMMUNITY, features, base_version=1)
        except ConflictError:
            return "conflict"
        return "saved"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: save(), range(2)))
    assert outcomes == ["conflict", "saved"]
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(2,)]
