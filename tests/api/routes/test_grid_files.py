"""Comparing layer versions, exporting and importing layers, and compressed answers, over HTTP
against the synthetic 'community' city in a throwaway PostGIS database."""

from __future__ import annotations

import csv
import gzip
import io
import json

import geopandas as gpd
import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape

from api.grids import exchange
from tests.api.routes import test_grid_edits
from tests.api.routes.test_grid_edits import by_code, current_layer, movable
from tests.api.test_grids_db import COMMUNITY, rows

city = test_grid_edits.city  # the gridded community, the client signed in as a planner


def saved_move(client, url) -> tuple[str, str, str, int]:
    """Move one building of grid A into its neighbour B and save it as version 2."""
    a, b, building, households, _ = movable(client, url, current_layer(client))
    body = {"community": COMMUNITY, "building_ids": [building], "to_code": b, "save": True}
    response = client.post("/api/grids/move", json=body)
    assert response.status_code == 200 and response.json()["version"] == 2, response.text
    return a, b, building, households


def community_name(url: str) -> str:
    return rows(url, "SELECT name FROM communities WHERE code = :c", c=COMMUNITY)[0][0]


# -- compare ----------------------------------------------------------------------------------


def test_compare_two_versions_gives_deltas_moved_building_and_changed_boundaries(client, city):
    a, b, building, households = saved_move(client, city)
    response = client.get("/api/grids/compare", params={"community": COMMUNITY, "a": 1, "b": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    deltas = {g["code"]: g for g in body["grids"] if g["level"] == "grid"}
    assert deltas[a]["delta"] == -households and deltas[b]["delta"] == households
    assert deltas[a]["change"] == deltas[b]["change"] == "changed"
    untouched = [g for c, g in deltas.items() if c not in (a, b)]
    assert untouched and all(g["delta"] == 0 and g["change"] == "same" for g in untouched)
    name = community_name(city)
    assert deltas[a]["name"] == f"{name}第{int(a[12:])}网格"
    (moved,) = body["moved"]["features"]
    props = moved["properties"]
    assert (props["building_id"], props["from_code"], props["to_code"]) == (building, a, b)
    assert props["title"].endswith("栋") and building not in props["title"]  # its address
    assert props["households"] == households and props["to_name"] == deltas[b]["name"]
    assert moved["geometry"]["type"] == "Point"
    changed = {f["properties"]["code"]: f for f in body["boundaries"]["features"]}
    assert {a, b} <= set(changed)
    assert not set(changed) & {c for c, g in deltas.items() if g["change"] == "same"}
    # what A lost is what B gained, and it is where the moved building stands
    lost, gained = changed[a]["properties"]["lost_m2"], changed[b]["properties"]["gained_m2"]
    assert lost > 1 and gained == pytest.approx(lost, rel=0.02)
    assert shape(changed[b]["geometry"]).buffer(1e-6).contains(shape(moved["geometry"]))
    assert set(body["layers"]) == {"a", "b"}
    assert len(body["layers"]["a"]["features"]) == len(body["layers"]["b"]["features"])
    # the current layer is the default second side
    again = client.get("/api/grids/compare", params={"community": COMMUNITY, "a": 1}).json()
    assert again["grids"] == body["grids"] and again["b"]["label"] == "current"


def test_compare_with_a_draft_and_with_a_regenerated_alternative_saves_nothing(client, city):
    layer = current_layer(client)
    response = client.post("/api/grids/compare", json={"community": COMMUNITY, "features": layer})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["b"]["label"] == "draft"
    assert body["moved"]["features"] == [] and body["boundaries"]["features"] == []
    assert {g["change"] for g in body["grids"]} == {"same"}
    response = client.post("/api/grids/compare", json={"community": COMMUNITY, "regenerate": True})
    assert response.status_code == 200, response.text
    regenerated = response.json()
    assert regenerated["b"]["label"] == "regenerated"
    total = sum(f["properties"]["households"] for f in by_code(layer, "grid").values())
    grids_b = [g for g in regenerated["grids"] if g["level"] == "grid" and g["households_b"]]
    assert sum(g["households_b"] for g in grids_b) == total
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(1,)]


def test_compare_refuses_unknown_versions_and_communities(client, city):
    response = client.get("/api/grids/compare", params={"community": COMMUNITY, "a": 5})
    assert response.status_code == 404 and "没有第 5 版" in response.json()["detail"]
    response = client.get("/api/grids/compare", params={"community": "990101001099", "a": 1})
    assert response.status_code == 404
    response = client.get("/api/grids/compare", params={"community": COMMUNITY, "a": 0})
    assert response.status_code == 422


def test_compare_and_files_need_a_grid_editor(client, city):
    client.headers.pop("Authorization")
    assert (
        client.get("/api/grids/compare", params={"community": COMMUNITY, "a": 1}).status_code == 401
    )
    assert client.get("/api/grids/export", params={"community": COMMUNITY}).status_code == 401


# -- export -----------------------------------------------------------------------------------


def test_export_geojson_equals_the_layer_with_a_named_download(client, city):
    layer = by_code(current_layer(client))
    response = client.get("/api/grids/export", params={"community": COMMUNITY})
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="wangge-{COMMUNITY}-current.geojson"' in disposition
    assert "filename*=UTF-8''" in disposition
    exported = by_code(response.json())
    assert set(exported) == set(layer)
    for code, feature in exported.items():
        stored = layer[code]["properties"]
        props = feature["properties"]
        assert {k: props[k] for k in ("level", "parent_code", "households")} == {
            k: stored[k] for k in ("level", "parent_code", "households")
        }
        assert [list(m) for m in props["members"]] == [list(m) for m in stored["members"]]
        assert props["name"].startswith(community_name(city))
        assert shapely.equals_exact(
            shape(feature["geometry"]), shape(layer[code]["geometry"]), 2e-7
        )


def test_export_of_a_past_version_and_of_a_draft(client, city):
    a, b, building, _ = saved_move(client, city)
    old = client.get("/api/grids/export", params={"community": COMMUNITY, "version": 1})
    assert old.status_code == 200 and "v1.geojson" in old.headers["content-disposition"]
    members = {f["properties"]["code"]: f["properties"]["members"] for f in old.json()["features"]}
    assert building in {m[0] for m in members[a]} and building not in {m[0] for m in members[b]}
    draft = current_layer(client)
    body = {"community": COMMUNITY, "format": "geojson", "features": draft}
    response = client.post("/api/grids/export", json=body)
    assert response.status_code == 200 and "draft" in response.headers["content-disposition"]
    assert len(response.json()["features"]) == len(draft["features"])
    missing = client.get("/api/grids/export", params={"community": COMMUNITY, "version": 9})
    assert missing.status_code == 404
    bad = client.get("/api/grids/export", params={"community": COMMUNITY, "format": "shp"})
    assert bad.status_code == 422


def test_export_geopackage_and_building_csv(client, city, tmp_path):
    layer = by_code(current_layer(client))
    response = client.get("/api/grids/export", params={"community": COMMUNITY, "format": "gpkg"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "layer.gpkg"
    path.write_bytes(response.content)
    frame = gpd.read_file(path, layer="grids", engine="pyogrio")
    assert frame.crs.to_epsg() == 4326
    assert dict(zip(frame["code"], frame["households"], strict=True)) == {
        c: f["properties"]["households"] for c, f in layer.items()
    }
    response = client.get("/api/grids/export", params={"community": COMMUNITY, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "-buildings.csv" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(table[0]) == exchange.CSV_COLUMNS
    buildings = rows(city, "SELECT building_id, households, address FROM buildings")
    grids = {c: f for c, f in layer.items() if f["properties"]["level"] == "grid"}
    total = sum(f["properties"]["households"] for f in grids.values())
    assert sum(int(r["households"]) for r in table) == total
    assert {r["building_id"] for r in table} <= {b for b, _, _ in buildings}
    address = {b: a or "" for b, _, a in buildings}
    for r in table:
        assert r["grid_code"] in grids and r["micro_code"].startswith(r["grid_code"])
        assert r["address"] == address[r["building_id"]]
        assert r["grid_name"] == f"{community_name(city)}第{int(r['grid_code'][12:])}网格"


# -- import -----------------------------------------------------------------------------------


def upload(client, name: str, content: bytes, community: str = COMMUNITY):
    files = {"file": (name, content, "application/octet-stream")}
    return client.post("/api/grids/import", data={"community": community}, files=files)


def test_import_of_an_export_is_a_valid_unsaved_draft(client, city):
    for fmt, name in (("geojson", "layer.geojson"), ("gpkg", "layer.gpkg")):
        exported = client.get("/api/grids/export", params={"community": COMMUNITY, "format": fmt})
        response = upload(client, name, exported.content)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True and body["saved"] is False and body["version"] == 1
        layer = by_code(current_layer(client))
        draft = by_code(body["layer"])
        assert {c: f["properties"]["households"] for c, f in draft.items()} == {
            c: f["properties"]["households"] for c, f in layer.items()
        }
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(1,)]


def test_import_of_a_modified_csv_moves_the_building_and_can_be_saved(client, city):
    layer = current_layer(client)
    a, b, building, households, _ = movable(client, city, layer)
    exported = client.get("/api/grids/export", params={"community": COMMUNITY, "format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    for r in table:
        if r["building_id"] == building:
            r["grid_code"], r["micro_code"] = b, ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=exchange.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    response = upload(client, "改过的.csv", out.getvalue().encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is False and body["report"]["moved"] == 1
    draft = by_code(body["layer"], "grid")
    before = by_code(layer, "grid")
    assert (
        draft[b]["properties"]["households"] == before[b]["properties"]["households"] + households
    )
    assert building in {m[0] for m in draft[b]["properties"]["members"]}
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(1,)]
    check = client.post(
        "/api/grids/validate", json={"community": COMMUNITY, "features": body["layer"]}
    )
    assert check.status_code == 200 and check.json()["ok"] is True
    saved = client.post(
        "/api/grids/save",
        json={"community": COMMUNITY, "features": body["layer"], "base_version": 1},
    )
    assert saved.status_code == 200 and saved.json()["version"] == 2, saved.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("layer.shp", b"x", "请上传"),
        ("layer.geojson", b"{not json", "不是有效的 GeoJSON"),
        ("layer.geojson", b'{"type": "Feature"}', "FeatureCollection"),
        ("layer.geojson", b"", "是空的"),
        ("layer.gpkg", b"SQLite format 3\x00 but not really", "GeoPackage"),
        ("layer.csv", b"building_id,grid_code\nnope,990101001001001\n", "第 2 行"),
        ("layer.csv", b"id,grid\n1,2\n", "缺少列"),
        ("layer.csv", b"\xff\xfe\x00b", "UTF-8"),
    ],
)
def test_bad_files_are_refused_with_a_chinese_reason_and_nothing_written(
    client, city, name, content, reason
):
    response = upload(client, name, content)
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    assert rows(city, "SELECT count(DISTINCT valid_from) FROM grids") == [(1,)]


def test_import_refuses_a_foreign_layer_and_an_oversized_file(client, city):
    layer = current_layer(client)
    layer["features"][0]["properties"]["code"] = "990101001002001"
    response = upload(client, "other.geojson", json.dumps(layer).encode())
    assert response.status_code == 422 and "community" in response.json()["detail"]
    big = b" " * (exchange.MAX_IMPORT_BYTES + 10)
    response = upload(client, "big.geojson", big)
    assert response.status_code == 413 and "上限" in response.json()["detail"]


# -- compression ------------------------------------------------------------------------------


def test_json_and_pages_are_gzipped_small_answers_are_not(client, city):
    headers = {"Accept-Encoding": "gzip"}
    response = client.get("/api/grids", params={"community": COMMUNITY}, headers=headers)
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) / 3
    assert response.json()["type"] == "FeatureCollection"  # httpx decompressed it
    page = client.get("/map/planner", params={"community": COMMUNITY}, headers=headers)
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    health = client.get("/api/health", headers=headers)
    assert "content-encoding" not in health.headers
    plain = client.get(
        "/api/grids", params={"community": COMMUNITY}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers and plain.json() == response.json()


def test_streamed_and_file_answers_survive_compression(client, city):
    with client.stream(
        "GET",
        "/api/grids/export",
        params={"community": COMMUNITY, "format": "gpkg"},
        headers={"Accept-Encoding": "gzip"},
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw).startswith(b"SQLite format 3")
    assert response.headers["content-disposition"].endswith(".gpkg")


def test_vector_tiles_are_compressed_and_decode_the_same(client, city):
    from tests.api.routes.test_tiles import tile_of

    lon, lat = current_layer(client)["features"][0]["geometry"]["coordinates"][0][0]
    x, y = tile_of(lon, lat, 14)
    path = f"/tiles/micro_grids/14/{x}/{y}.pbf"
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content and len(plain.content) > 1024
    assert mapbox_vector_tile.decode(zipped.content)["micro_grids"]["features"]
