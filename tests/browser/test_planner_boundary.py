"""修改边界 in chromium: only the corners that matter are shown (POST /api/grids/handles), a drag
goes to POST /api/grids/reshape, a refusal is shown in Chinese and the layer stays as it was."""

from __future__ import annotations

from tests.browser.test_planner import grid_layer
from tests.browser.test_planner_tools import HOUSEHOLDS, open_planner, pick_row

# the handles on the page: [[x, y, kind, codes], …] in page coordinates
HANDLES = """() => { const box = wangge.map.getContainer().getBoundingClientRect();
  return wangge.planner.handleLayer.getLayers().map(m => {
    const p = wangge.map.latLngToContainerPoint(m.getLatLng());
    return [p.x + box.left, p.y + box.top, m.handle.kind, m.handle.codes]; }); }"""
GEOMETRY = """code => JSON.stringify(wangge.planner.state.fc.features
  .find(f => f.properties.code === code).geometry)"""


def show_handles(p, live) -> tuple[str, list]:
    open_planner(p, live)
    code = sorted(grid_layer(live))[0]
    pick_row(p, code)
    p.click("#btn-edit-vertices")
    p.wait_for_selector(".wangge-handle")
    return code, p.evaluate(HANDLES)


def drag(p, x: float, y: float, dx: float, dy: float) -> str:
    p.evaluate("() => { document.getElementById('status').className = ''; }")
    p.mouse.move(x, y)
    p.mouse.down()
    p.mouse.move(x + dx, y + dy, steps=4)
    p.mouse.up()
    p.wait_for_function(
        "['ok', 'warning', 'error'].includes(document.getElementById('status').className)",
        timeout=20_000,
    )
    return p.locator("#status").inner_text()


def test_only_the_corners_that_matter_and_a_refused_drag_changes_nothing(live_server, page):
    p = page.page
    page.expected_statuses.add(422)  # the refused drag
    code, handles = show_handles(p, live_server)
    assert 3 <= len(handles) <= 40  # tens at most, not the ~250 vertices of the outline
    assert all(code in codes for _x, _y, _kind, codes in handles)
    assert {kind for _x, _y, kind, _codes in handles} <= {"junction", "corner", "boundary"}
    assert "拖动圆点" in p.locator("#status").inner_text()
    before = p.evaluate(HOUSEHOLDS), p.evaluate(GEOMETRY, code)
    x, y, _kind, _codes = next(h for h in handles if h[2] == "junction")
    status = drag(p, x, y, 400, 300)  # far across other grids' corners
    assert status.startswith("边界修改被拒绝：")
    assert "边界" in status[len("边界修改被拒绝：") :]  # the server's reason, Chinese first
    assert (p.evaluate(HOUSEHOLDS), p.evaluate(GEOMETRY, code)) == before
    assert p.evaluate("wangge.planner.state.session.sizes()") == [0, 0]
    back = p.evaluate(HANDLES)
    assert any(abs(h[0] - x) < 1 and abs(h[1] - y) < 1 for h in back)  # the handle went back
    p.keyboard.press("Escape")
    assert p.locator(".wangge-handle").count() == 0


def test_a_drag_on_a_shared_edge_moves_both_grids(live_server, page):
    p = page.page
    page.expected_statuses.add(422)  # tries that the server refuses before one it accepts
    code, handles = show_handles(p, live_server)
    shared = [h for h in handles if h[2] == "corner" and len(h[3]) == 2]
    for x, y, _kind, codes in shared:
        neighbour = next(c for c in codes if c != code)
        before = p.evaluate(GEOMETRY, code), p.evaluate(GEOMETRY, neighbour)
        for dx, dy in ((6, 0), (0, 6), (-6, 0), (0, -6)):
            if not drag(p, x, y, dx, dy).startswith("边界修改被拒绝"):
                after = p.evaluate(GEOMETRY, code), p.evaluate(GEOMETRY, neighbour)
                assert after[0] != before[0] and after[1] != before[1]  # the edge moved as one
                assert p.evaluate("wangge.planner.state.session.sizes()") == [1, 0]
                p.keyboard.press("Control+z")
                assert (p.evaluate(GEOMETRY, code), p.evaluate(GEOMETRY, neighbour)) == before
                return
    raise AssertionError("no drag of a shared corner was accepted")
