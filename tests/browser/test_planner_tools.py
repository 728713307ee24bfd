"""The planner's editing tools in chromium: brush strokes and lasso with the tallies updated in
the browser before the server answers, shift-click, undo/redo inside the session, and nothing
stale left after discarding."""

from __future__ import annotations

import re

from tests.browser.conftest import wait_drawn
from tests.browser.test_planner import COMMUNITY, grid_layer, sign_in

# the edited layer's households per grid, as the page holds them
HOUSEHOLDS = """() => Object.fromEntries(wangge.planner.state.fc.features
  .filter(f => f.properties.level === 'grid')
  .map(f => [f.properties.code, f.properties.households]))"""
# the tally table: code → shown households ("432" or "432→612")
TABLE = """() => Object.fromEntries(Array.from(document.querySelectorAll('#tally-table tbody tr'))
  .map(tr => [tr.dataset.code, tr.children[1].textContent]))"""
# buildings of other grids nearest the selected one: [[id, x, y, grid, households], …]
NEAREST = """() => { const s = wangge.planner.state, sel = s.selection[0], owner = {};
  s.fc.features.filter(f => f.properties.level === 'grid').forEach(f =>
    f.properties.members.forEach(m => { if (m[1] > 0) owner[m[0]] = [f.properties.code, m[1]]; }));
  const poly = wangge.planner.editLayer.getLayers().find(l => l.feature.properties.code === sel);
  const c = poly.getCenter(), box = wangge.map.getContainer().getBoundingClientRect();
  return Object.keys(s.buildingPoints).filter(id => owner[id] && owner[id][0] !== sel)
    .sort((a, b) => wangge.map.distance(s.buildingPoints[a], c)
      - wangge.map.distance(s.buildingPoints[b], c))
    .map(id => { const p = wangge.map.latLngToContainerPoint(s.buildingPoints[id]);
      return [id, p.x + box.left, p.y + box.top, owner[id][0], owner[id][1]]; }); }"""


def open_planner(p, live) -> None:
    p.goto(f"{live.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    sign_in(p)


def pick_row(p, code: str) -> None:
    """Select a grid by its row in the tally table (which also zooms to it)."""
    p.click(f"#tally-table tbody tr[data-code='{code}']")
    p.wait_for_function(
        "code => wangge.planner.state.selection.join() === code", arg=code, timeout=5000
    )


def brush_on_first_grid(p, live) -> str:
    """Open the planner, select the first grid and turn the brush on, one building a stroke;
    returns the grid's code."""
    open_planner(p, live)
    target = sorted(grid_layer(live))[0]
    pick_row(p, target)
    p.click("#btn-brush")
    p.wait_for_function("wangge.planner.tools.mode() === 'brush'", timeout=10_000)
    p.evaluate("document.getElementById('brush-size').value = 8")
    return target


def wait_answer(p) -> str:
    p.wait_for_function(
        "['ok', 'warning', 'error'].includes(document.getElementById('status').className)",
        timeout=20_000,
    )
    return p.locator("#status").inner_text()


def brush_stroke(p, target: str) -> tuple[str, str, int]:
    """Paint the building of another grid nearest `target` into it; returns (building, its
    grid, its households) after checking the live tallies shown before the server answered."""
    bid, x, y, source, households = p.evaluate(NEAREST)[0]
    before = p.evaluate(HOUSEHOLDS)
    p.evaluate("() => { document.getElementById('status').className = ''; }")
    p.mouse.move(x - 4, y)
    p.mouse.down()
    p.mouse.move(x, y, steps=2)
    # still painting: nothing sent yet, the tallies already show the move
    assert p.evaluate("Array.from(wangge.planner.state.pending)") == [bid]
    table = p.evaluate(TABLE)
    assert table[target] == f"{before[target]}→{before[target] + households}"
    assert table[source] == f"{before[source]}→{before[source] - households}"
    assert p.evaluate("wangge.planner.state.fc.features.length") > 0
    p.mouse.up()
    wait_answer(p)
    return bid, source, households


def test_a_sequence_of_brush_strokes_with_live_tallies_undo_and_redo(live_server, page):
    p = page.page
    target = brush_on_first_grid(p, live_server)
    assert "涂抹" in p.locator("#status").inner_text()
    # labels of the households on the map at close zoom, the table sortable
    labels = p.locator(".grid-label").all_inner_texts()
    assert labels and all(re.fullmatch(r"\d+", t) for t in labels)
    p.click("#tally-table th[data-key=households]")
    shown = [int(t) for t in p.locator("#tally-table tbody td:nth-child(2)").all_inner_texts()]
    assert shown == sorted(shown) and len(shown) >= 2
    start = p.evaluate(HOUSEHOLDS)
    steps = [start]
    for _ in range(3):  # three strokes, each confirmed by the server as the browser predicted
        _bid, source, households = brush_stroke(p, target)
        now = p.evaluate(HOUSEHOLDS)
        assert now[target] == steps[-1][target] + households
        assert now[source] == steps[-1][source] - households
        assert p.evaluate(TABLE)[target] == str(now[target])  # the server's numbers, no arrow
        steps.append(now)
    assert p.evaluate("wangge.planner.state.session.sizes()") == [3, 0]
    p.keyboard.press("Control+z")
    p.keyboard.press("Control+z")
    assert p.evaluate(HOUSEHOLDS) == steps[1]
    p.click("#btn-session-redo")
    assert p.evaluate(HOUSEHOLDS) == steps[2]
    p.keyboard.press("Control+y")
    assert p.evaluate(HOUSEHOLDS) == steps[3]
    p.click("#btn-session-undo")
    assert p.evaluate(HOUSEHOLDS) == steps[2]
    assert p.evaluate("wangge.planner.state.session.sizes()") == [2, 1]
    assert "撤销" in p.locator("#edit-state").inner_text()
    # the status line is the validator's word for the restored layer
    assert p.locator("#status").get_attribute("class") in ("ok", "warning", "error")
    # discarding leaves nothing of the session behind
    p.click("#btn-discard")
    p.wait_for_function(
        "code => wangge.planner.state.fc && wangge.planner.state.fc.features.length", arg=target
    )
    assert p.evaluate(HOUSEHOLDS) == start
    assert p.locator("#problem-list li").count() == 0
    assert p.evaluate("wangge.planner.problemLayer.getLayers().length") == 0
    assert p.evaluate("wangge.planner.state.session.sizes()") == [0, 0]
    assert p.evaluate("wangge.planner.tools.mode()") is None
    assert p.locator("#status").inner_text() == ""


def test_undoing_every_stroke_says_there_is_nothing_to_save(live_server, page):
    """Back at the saved layer by undo, the edit line says so (it said 已撤销一步（未保存）
    while there was nothing left to save); a redo makes it unsaved again."""
    p = page.page
    target = brush_on_first_grid(p, live_server)
    start = p.evaluate(HOUSEHOLDS)
    brush_stroke(p, target)
    assert p.evaluate("wangge.planner.state.dirty") is True
    p.click("#btn-session-undo")
    assert p.evaluate(HOUSEHOLDS) == start
    assert p.evaluate("wangge.planner.state.dirty") is False
    assert p.locator("#edit-state").inner_text() == "没有未保存的修改"
    p.click("#btn-session-redo")
    assert p.evaluate("wangge.planner.state.dirty") is True
    assert p.locator("#edit-state").inner_text() == "已重做一步（未保存）"


def test_lasso_and_shift_click_choose_buildings_and_the_move_matches_the_tallies(live_server, page):
    p = page.page
    open_planner(p, live_server)
    target = sorted(grid_layer(live_server))[-1]
    pick_row(p, target)
    p.click("#btn-lasso")
    p.wait_for_function("wangge.planner.tools.mode() === 'lasso'", timeout=10_000)
    first, second = p.evaluate(NEAREST)[:2]
    x, y = first[1], first[2]
    p.mouse.move(x - 12, y - 12)
    p.mouse.down()
    for cx, cy in ((x + 12, y - 12), (x + 12, y + 12), (x - 12, y + 12), (x - 12, y - 11)):
        p.mouse.move(cx, cy, steps=3)
    p.mouse.up()
    assert p.evaluate("Array.from(wangge.planner.state.buildings)") == [first[0]]
    p.click("#btn-lasso")  # off again: clicks on buildings choose them
    assert p.evaluate("wangge.planner.tools.mode()") is None
    p.keyboard.down("Shift")
    p.mouse.click(second[1], second[2])
    p.keyboard.up("Shift")
    chosen = p.evaluate("Array.from(wangge.planner.state.buildings).sort()")
    assert chosen == sorted([first[0], second[0]])
    before = p.evaluate(HOUSEHOLDS)
    gained = first[4] + second[4]
    assert p.evaluate(TABLE)[target] == f"{before[target]}→{before[target] + gained}"
    assert "待移入" in p.locator("#edit-state").inner_text()
    p.click("#btn-move")
    status = wait_answer(p)
    assert p.evaluate(HOUSEHOLDS)[target] == before[target] + gained, status
    # the moved buildings are no longer drawn as chosen
    assert p.evaluate("wangge.planner.state.buildings.size") == 0
    colours = p.evaluate(
        "ids => ids.map(id => wangge.layers.buildings.getLayers()"
        ".find(l => l.feature.properties.building_id === id).options.fillColor)",
        chosen,
    )
    assert "#f5b800" not in colours


def test_a_finger_paints_with_the_brush_on_a_phone(live_server, phone):
    p = phone.page
    target = brush_on_first_grid(p, live_server)
    bid, x, y, _source, households = p.evaluate(NEAREST)[0]
    before = p.evaluate(HOUSEHOLDS)[target]
    cdp = p.context.new_cdp_session(p)
    p.evaluate("() => { document.getElementById('status').className = ''; }")
    for kind, dx in (("touchStart", -3), ("touchMove", 0), ("touchEnd", 0)):
        points = [] if kind == "touchEnd" else [{"x": x + dx, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        if kind == "touchMove":  # painted under the finger before anything is sent
            assert p.evaluate("Array.from(wangge.planner.state.pending || [])") == [bid]
    wait_answer(p)
    assert p.evaluate(HOUSEHOLDS)[target] == before + households
