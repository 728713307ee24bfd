"""The planner page's comparison, export and import in chromium: two versions compared show the
deltas and the drawn changes (overlaid and side by side), an export downloads the layer, and a
modified file imported becomes a draft that validates and is saved."""

from __future__ import annotations

import json

import httpx
import shapely
from shapely.geometry import shape

from tests.browser.conftest import screenshot, token, wait_drawn
from tests.browser.test_planner import COMMUNITY, grid_layer, history, movable, sign_in


def open_planner(p, live) -> None:
    p.goto(f"{live.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    sign_in(p)
    p.wait_for_selector("#compare-box")
    p.click("#compare-box summary")
    p.wait_for_function("document.querySelectorAll('#compare-a option').length > 0")


def saved_move(live) -> tuple[str, str, str]:
    """(to grid, from grid, building id) of a move saved as version 2."""
    to, source, _ = movable(live)
    buildings = httpx.get(f"{live.url}/api/buildings", params={"community": COMMUNITY}).json()
    where = {f["properties"]["building_id"]: f for f in buildings["features"]}
    members = grid_layer(live)[source]["properties"]["members"]
    polygon = shape(grid_layer(live)[to]["geometry"])
    building = min(
        (bid for bid, h in members if h > 0),
        key=lambda bid: polygon.distance(shape(where[bid]["geometry"])),
    )
    body = {"community": COMMUNITY, "building_ids": [building], "to_code": to, "save": True}
    r = httpx.post(f"{live.url}/api/grids/move", json=body, headers=token(live), timeout=60)
    assert r.status_code == 200 and r.json()["saved"], r.text
    return to, source, building


def test_compare_two_versions_shows_deltas_moved_buildings_and_boundaries(live_server, page):
    to, source, building = saved_move(live_server)
    p = page.page
    open_planner(p, live_server)
    assert p.locator("#compare-a option").count() == 2
    p.select_option("#compare-a", "1")
    p.select_option("#compare-b", "")  # the current version, 2
    p.click("#btn-compare")
    p.wait_for_selector("#compare-table tr[data-code]")
    rows = {
        r.get_attribute("data-code"): r.inner_text().split("\t")
        for r in p.locator("#compare-table tr[data-code]").all()
    }
    assert {to, source} <= set(rows)
    name, before, after, delta = rows[to]
    assert name.endswith(f"第{int(to[12:])}网格") and to not in name
    assert int(after) - int(before) == int(delta) > 0
    assert int(rows[source][3]) == -int(delta)
    buildings = httpx.get(f"{live_server.url}/api/buildings", params={"community": COMMUNITY})
    (title,) = [
        f["properties"]["title"]
        for f in buildings.json()["features"]
        if f["properties"]["building_id"] == building
    ]
    moved = p.locator("#compare-moved").inner_text()
    assert title in moved and building not in moved  # named as people do, not by id
    assert "栋楼换了网格" in p.locator("#compare-summary").inner_text()
    assert p.locator("path.compare-moved").count() == 1
    drawn = p.evaluate(
        "() => { let n = 0; wangge.map.eachLayer(l => { if (l.feature && l.feature.properties"
        " && 'gained_m2' in l.feature.properties) n += 1; }); return n; }"
    )
    assert drawn >= 2  # the two grids' changed land
    screenshot(p, "planner-compare-overlay")

    p.check("input[name=compare-mode][value=side]")
    p.click("#btn-compare")
    p.wait_for_selector("#compare-side .leaflet-container")
    assert p.locator("#compare-side .compare-pane").count() == 2
    for pane in p.locator("#compare-side .compare-pane").all():
        box = pane.bounding_box()
        assert box["height"] > 500 and box["width"] > 300  # two maps filling the map's place
    assert p.locator("#compare-side path.compare-moved").count() == 2  # on both sides
    assert "第 1 版" in p.locator("#compare-pane-a .compare-label").inner_text()
    p.evaluate("wangge.compare.side.maps[0].setZoom(wangge.compare.side.maps[0].getZoom() + 1)")
    centres = p.evaluate(
        "wangge.compare.side.maps.map(m => [m.getZoom(), m.getCenter().lat.toFixed(6)])"
    )
    assert centres[0] == centres[1]  # the two maps move together
    screenshot(p, "planner-compare-side")
    p.click("#btn-compare-close")
    assert p.locator("#compare-side").count() == 0
    assert p.locator("#compare-table tr").count() == 0

    # the current layer against the community divided again (nothing saved)
    p.check("input[name=compare-mode][value=overlay]")
    p.select_option("#compare-a", "2")
    p.select_option("#compare-b", "regenerate")
    p.click("#btn-compare")
    p.wait_for_function("document.getElementById('compare-summary').textContent.length > 0")
    assert p.locator("#compare-summary").inner_text().startswith("第 2 版 → 重新生成的方案")
    assert history(live_server) == 2


def test_export_downloads_a_geojson_equal_to_the_layer(live_server, page):
    p = page.page
    open_planner(p, live_server)
    p.select_option("#export-format", "geojson")
    with p.expect_download() as info:
        p.click("#btn-export")
    download = info.value
    assert download.suggested_filename.endswith(f"{COMMUNITY}-current.geojson")
    exported = json.loads(open(download.path(), encoding="utf-8").read())  # noqa: SIM115
    layer = {}
    for level in ("grid", "micro"):
        layer |= grid_layer(live_server, level)
    got = {f["properties"]["code"]: f for f in exported["features"]}
    assert set(got) == set(layer)
    for code, feature in got.items():
        assert feature["properties"]["households"] == layer[code]["properties"]["households"]
        # the same vertices (GET /api/grids rounds to 7 decimals, the export does not)
        stored = shape(layer[code]["geometry"])
        assert shapely.equals_exact(shape(feature["geometry"]), stored, 2e-7)
    assert "已导出" in p.locator("#status").inner_text()


def test_import_of_a_modified_file_is_a_draft_that_validates_and_saves(live_server, page, tmp_path):
    to, source, _ = movable(live_server)  # a move the server accepts (not saved)
    headers = token(live_server)
    buildings = grid_layer(live_server)[source]["properties"]["members"]
    preview = None
    for bid, h in buildings:
        body = {"community": COMMUNITY, "building_ids": [bid], "to_code": to}
        r = httpx.post(f"{live_server.url}/api/grids/move", json=body, headers=headers, timeout=60)
        if r.status_code == 200 and r.json()["ok"] and h > 0:
            preview = r.json()
            break
    assert preview is not None
    path = tmp_path / "改过的网格.geojson"
    path.write_text(json.dumps(preview["layer"], ensure_ascii=False), encoding="utf-8")
    p = page.page
    open_planner(p, live_server)
    p.set_input_files("#import-file", str(path))
    p.click("#btn-import")
    p.wait_for_function("wangge.planner.state.dirty === true", timeout=15_000)
    assert "已导入" in p.locator("#status").inner_text()
    drafted = p.evaluate(
        "Object.fromEntries(wangge.planner.state.fc.features.filter(f => f.properties.level"
        " === 'grid').map(f => [f.properties.code, f.properties.households]))"
    )
    expected = {
        f["properties"]["code"]: f["properties"]["households"]
        for f in preview["layer"]["features"]
        if f["properties"]["level"] == "grid"
    }
    assert drafted == expected
    assert history(live_server) == 1  # nothing saved yet
    p.click("#btn-validate")
    p.wait_for_function("document.getElementById('status').className !== ''", timeout=15_000)
    assert p.locator("#status").get_attribute("class") in ("ok", "warning")
    p.click("#btn-save")
    p.wait_for_function("wangge.planner.state.dirty === false", timeout=15_000)
    assert history(live_server) == 2
    saved = {c: f["properties"]["households"] for c, f in grid_layer(live_server).items()}
    assert saved == expected
