"""Benchmark of the planner's live tallies: how long the page takes to recount every grid in
view while buildings are painted, against the server's answer for the same stroke.

    .venv/bin/python -m bench.planner_tally [--size street] [--strokes 12]

The synthetic city is loaded with its grids into a throwaway PostGIS cluster and served on
loopback. In Debian's chromium a signed-in planner opens the community with the most
households, picks a grid in the tally table and paints, with the brush, the building of a
neighbouring grid nearest to it, ``--strokes`` times; then the same at micro-grid level. Every
recount the page makes (``wangge.planner.tallyMs``, set by refreshTally) is recorded, and, as
the baseline, the time from the end of the stroke to the server's preview answer shown in the
status line (what the planner had to wait for before the tallies ran in the page). Prints a
Markdown block for bench/RESULTS.md with the machine load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.maps import serve
from bench.planner_edit import (
    browser_args,
    busiest_community,
    load,
    start_cluster,
    uptime,
)

TARGET_TALLY_MS = 50
PASSWORD = "Recount-in-page-2026"

CAPTURE = """() => { const P = wangge.planner; P._tallies = [];
  Object.defineProperty(P, 'tallyMs', { configurable: true,
    set(v) { P._tallies.push(v); }, get() { return P._tallies[P._tallies.length - 1]; } }); }"""

# the building of another polygon (of the level shown) nearest to the selected one, on screen
NEAREST = """(level) => { const s = wangge.planner.state, sel = s.selection[0], owner = {};
  s.fc.features.filter(f => f.properties.level === level).forEach(f =>
    (f.properties.members || []).forEach(m => { if (m[1] > 0) owner[m[0]] = f.properties.code; }));
  const poly = wangge.planner.editLayer.getLayers().find(l => l.feature.properties.code === sel);
  if (!poly) return null;
  const c = poly.getCenter(), box = wangge.map.getContainer().getBoundingClientRect();
  const ids = Object.keys(s.buildingPoints).filter(id => owner[id] && owner[id] !== sel
      && !s.buildings.has(id))
    .sort((a, b) => wangge.map.distance(s.buildingPoints[a], c)
      - wangge.map.distance(s.buildingPoints[b], c));
  if (!ids.length) return null;
  const p = wangge.map.latLngToContainerPoint(s.buildingPoints[ids[0]]);
  return [ids[0], p.x + box.left, p.y + box.top]; }"""

SETTLED = "() => ['ok','warning','error'].includes(document.getElementById('status').className)"


def planner_account(url: str) -> None:
    from api import accounts
    from api.db import transaction

    with transaction(url) as session:
        accounts.create_user(session, "bench-tally", "planner", PASSWORD)


def paint(page, level: str, strokes: int) -> tuple[list[float], list[float], int]:
    """(recount times, server answer times, rows in the table) for `strokes` brush strokes."""
    if level == "micro":
        page.check("#level input[value=micro]")
        page.wait_for_timeout(800)
    page.locator("#tally-table tbody tr[data-code]").first.click()
    page.wait_for_function("() => wangge.planner.state.selection.length === 1", timeout=60_000)
    page.evaluate("() => { document.getElementById('status').className = ''; }")
    page.click("#btn-validate")  # the community's layer loaded for editing
    page.wait_for_function(SETTLED, timeout=60_000)
    rows = page.locator("#tally-table tbody tr[data-code]").count()
    page.click("#btn-brush")
    page.evaluate("document.getElementById('brush-size').value = 8")  # a building a stroke
    page.evaluate(CAPTURE)
    server = []
    for _ in range(strokes):
        near = page.evaluate(NEAREST, level)
        if not near:
            break
        _, x, y = near
        page.evaluate("() => { document.getElementById('status').className = ''; }")
        page.mouse.move(x - 4, y)
        page.mouse.down()
        page.mouse.move(x, y, steps=2)
        page.mouse.up()
        t0 = time.perf_counter()
        page.wait_for_function(SETTLED, timeout=60_000, polling=5)
        server.append((time.perf_counter() - t0) * 1000)
    page.click("#btn-brush")
    tallies = page.evaluate("wangge.planner._tallies")
    return tallies, server, rows


def measure(base: str, community: str, strokes: int) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=browser_args()
        )
        for level in ("grid", "micro"):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}/map/planner?community={community}")
            page.wait_for_function("() => document.body.dataset.drawn === '1'", timeout=120_000)
            page.fill("#signin [name=username]", "bench-tally")
            page.fill("#signin [name=password]", PASSWORD)
            page.click("#signin button")
            page.wait_for_selector("#whoami:not([hidden])")
            out[level] = paint(page, level, strokes)
            page.close()
        browser.close()
    return out


def stats(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def markdown(community: str, result: dict, before: str, after: str) -> str:
    lines = [
        f"Community {community}; load before `{before}`, after `{after}`.",
        "",
        f"| level | rows in the table | recounts | recount p50 / p95 / max "
        f"| ≤ {TARGET_TALLY_MS} ms "
        "| server preview p50 (baseline) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for level, (tallies, server, rows) in result.items():
        t50, t95, tmax = stats(tallies)
        s50 = statistics.median(server) if server else float("nan")
        ok = "yes" if t95 <= TARGET_TALLY_MS else "**no**"
        lines.append(
            f"| {level} | {rows} | {len(tallies)} | {t50:.1f} / {t95:.1f} / {tmax:.1f} ms | {ok} "
            f"| {s50:,.0f} ms ({len(server)} strokes) | {s50 / max(t50, 0.01):,.0f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="street", choices=("community", "street", "district"))
    parser.add_argument("--strokes", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("WANGGE_RATE_LIMIT", "false")
    cluster, url = start_cluster("tally")
    try:
        load(url, "synthetic", args.size)
        planner_account(url)
        community = busiest_community(url)[0]
        served = serve(url)
        try:
            before = uptime()
            result = measure(served.url, community, args.strokes)
            after = uptime()
        finally:
            served.stop()
    finally:
        from api.db import get_engine

        get_engine(url).dispose()
        cluster.destroy()
        cluster.state_dir.parent.rmdir()
    print()
    print(markdown(community, result, before, after))


if __name__ == "__main__":
    main()
