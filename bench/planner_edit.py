"""Benchmark of the planner's editor: each edit endpoint's latency and the planner map's time
to drawn, against real PostGIS.

    .venv/bin/python -m bench.planner_edit [--size street] [--runs 20] [--pages 3] [--xuanwu]

The synthetic city of ``--size`` is loaded with its grids into a throwaway PostGIS cluster and
served by uvicorn on loopback (base tiles off, rate limits off). On its community with the most
households, a signed-in planner previews (``save: false``, as the page does while editing):

* ``move`` — one building of a grid into a touching grid (of the 5 nearest the neighbour, the
  first whose land touches it),
* ``split`` — one grid into two,
* ``merge`` — two touching grids,
* ``validate`` — the whole layer as the page sends it,
* ``reshape`` — one shared corner dragged 3 m (only when the service has /api/grids/reshape),

``--runs`` times each, cycling over the community's grids and neighbour pairs; p50 and p95 of
the wall time a client on loopback sees (request sent → JSON answer read, gzip on), plus the
answer's size with and without compression. Then Debian's chromium opens
/map/planner?community=… ``--pages`` times (cold, a new context each) and the median time to
the drawn map (``wangge.drawnAt``, ms since navigation start) is taken; with ``--xuanwu`` the
same for the Nanjing Xuanwu extract (loaded as the demo loads it) at /map/planner. Prints a
Markdown block for bench/RESULTS.md with the machine load (uptime).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import shapely
from shapely.geometry import shape

from bench.maps import CHROMIUM, serve, time_to_drawn

TARGET_EDIT_P95_MS = 300
TARGET_DRAWN_MS = {"synthetic": 1500, "xuanwu": 3000}


def start_cluster(name: str):
    from api.storage import migrate
    from api.storage.launcher import Cluster

    state = Path(tempfile.mkdtemp(prefix=f"wangge-bench-edit-{name}-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    cluster.ensure_database(name)
    url = cluster.url(name)
    migrate.upgrade(url)
    return cluster, url


def load(url: str, dataset: str, size: str, *, log=print) -> None:
    from api.db import get_engine, transaction
    from api.demo.datasets import build_grids, load_synthetic, load_xuanwu

    t0 = time.perf_counter()
    with transaction(url) as session:
        if dataset == "xuanwu":
            load_xuanwu(session, log=lambda _: None)
        else:
            load_synthetic(session, size=size, log=lambda _: None)
        build_grids(session, log=lambda _: None)
    get_engine(url).dispose()
    log(f"loaded {dataset} ({size}) with grids in {time.perf_counter() - t0:.1f} s")


def planner_token(url: str) -> str:
    from api import accounts
    from api.db import transaction

    with transaction(url) as session:
        user = accounts.create_user(session, "bench-planner", "planner", "Bench-edits-2026")
        return accounts.issue_token(user)


def busiest_community(url: str) -> tuple[str, int, int]:
    """(code, grids, households) of the community with the most households in grids."""
    from sqlalchemy import text

    from api.db import get_engine

    with get_engine(url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.code, count(*), sum(g.households) FROM grids g "
                "JOIN communities c ON c.id = g.community_id "
                "WHERE g.valid_to IS NULL AND g.level = 'grid' "
                "GROUP BY c.code ORDER BY sum(g.households) DESC, c.code LIMIT 1"
            )
        ).one()
    return str(row[0]), int(row[1]), int(row[2])


def neighbour_pairs(layer: dict) -> list[tuple[str, str]]:
    """Pairs of grids sharing an edge (not just a corner), longest shared edge first."""
    grids = {
        f["properties"]["code"]: shape(f["geometry"])
        for f in layer["features"]
        if f["properties"]["level"] == "grid"
    }
    codes = sorted(grids)
    shared = []
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            length = grids[a].boundary.intersection(grids[b].boundary).length
            if length > 1e-5:
                shared.append((length, a, b))
    return [(a, b) for _, a, b in sorted(shared, reverse=True)]


def edge_buildings(layer: dict, points: dict[str, shapely.Point], a: str, b: str) -> list[str]:
    """The buildings of grid `a`, nearest grid `b` first."""
    grids = {f["properties"]["code"]: f for f in layer["features"]}
    target = shape(grids[b]["geometry"])
    members = [m[0] for m in grids[a]["properties"]["members"] if m[1] > 0 and m[0] in points]
    return sorted(members, key=lambda m: points[m].distance(target))


def touching_building(client: httpx.Client, base: dict, candidates: list[str], to: str):
    """The first of `candidates` (at most 5 tried) whose land touches grid `to`, as a planner
    picks a building along the shared edge: the service previews the move (not timed)."""
    for building in candidates[:5]:
        move = {"building_ids": [building], "to_code": to}
        if client.post("/api/grids/move", json=base | move).status_code == 200:
            return move
    return None


def timed(client: httpx.Client, method: str, path: str, **kw) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.request(method, path, **kw)
    response.read()
    return (time.perf_counter() - t0) * 1000, response


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def edit_plan(client: httpx.Client, community: str, runs: int) -> list[tuple[str, str, bytes]]:
    """(edit, path, JSON body) in the order they will be sent.

    Bodies are encoded here, so the parsed layer is not kept: the server runs in this process,
    and a client's ~100,000 coordinate lists would lengthen its garbage collections. The
    editor's caches are emptied after planning (a move is tried while choosing its building).
    """
    from geo.grids.edit.memo import clear_all

    layer = client.get("/api/grids", params={"community": community}).json()
    found = client.get("/api/buildings", params={"community": community}).json()
    points = {
        f["properties"]["building_id"]: shape(f["geometry"]).representative_point()
        for f in found["features"]
    }
    pairs = neighbour_pairs(layer)
    grids = sorted(f["properties"]["code"] for f in layer["features"]
                   if f["properties"]["level"] == "grid")  # fmt: skip
    base = {"community": community, "save": False}
    validate = json.dumps({"community": community, "features": layer}).encode()
    plan = []
    for k in range(runs):
        a, b = pairs[k % len(pairs)]
        move = touching_building(client, base, edge_buildings(layer, points, a, b), b)
        if move:
            plan.append(("move", "/api/grids/move", base | move))
        split = {"code": grids[k % len(grids)], "parts": 2}
        plan.append(("split", "/api/grids/split", base | split))
        plan.append(("merge", "/api/grids/merge", base | {"codes": [a, b]}))
        plan.append(("validate", "/api/grids/validate", validate))
    paths = client.get("/openapi.json").json()["paths"]
    if "/api/grids/reshape" in paths and "/api/grids/handles" in paths:
        plan += reshape_plan(client, community, runs)
    clear_all()
    return [(e, p, b if isinstance(b, bytes) else json.dumps(b).encode()) for e, p, b in plan]


def reshape_plan(client: httpx.Client, community: str, runs: int) -> list[tuple[str, str, dict]]:
    """Drags of inner junctions by 3 m to the north-east (C's contract)."""
    handles = client.post("/api/grids/handles", json={"community": community, "level": "grid"})
    if handles.status_code != 200:
        return []
    inner = [h for h in handles.json()["handles"] if h["kind"] != "boundary"]
    plan = []
    for k in range(min(runs, len(inner)) if inner else 0):
        h = inner[k % len(inner)]
        to = [h["lon"] + 3e-5, h["lat"] + 2.7e-5]
        body = {"community": community, "save": False, "level": "grid",
                "from": [h["lon"], h["lat"]], "to": to}  # fmt: skip
        plan.append(("reshape", "/api/grids/reshape", body))
    return plan


def time_edits(base: str, token: str, community: str, runs: int, *, log=print) -> dict:
    """Per edit: p50/p95/max ms, how many answers were 4xx (`refused`, with the first reason)
    or a layer with errors (`not_ok`), and one answer's size plain and gzipped."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip",
               "Content-Type": "application/json"}  # fmt: skip
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        plan = edit_plan(client, community, runs)
        validate = next(body for edit, _, body in plan if edit == "validate")
        timed(client, "POST", "/api/grids/validate", content=validate)  # warm-up, not counted
        results: dict[str, dict] = {}
        for edit, path, body in plan:
            ms, response = timed(client, "POST", path, content=body)
            r = results.setdefault(edit, {"times": [], "refused": 0, "not_ok": 0, "why": ""})
            r["times"].append(ms)
            if response.status_code >= 500:
                msg = f"{edit}: HTTP {response.status_code} {response.text[:200]}"
                raise RuntimeError(msg)
            if response.status_code != 200:
                r["refused"] += 1
                r["why"] = r["why"] or str(response.json().get("detail"))[:160]
                continue
            r["not_ok"] += not response.json().get("ok", True)
            if "bytes" not in r:
                r["bytes"] = (len(response.content), len(gzip.compress(response.content, 6)))
    for edit, r in results.items():
        r |= summary(r.pop("times"))
        r.setdefault("bytes", (0, 0))
        log(f"{edit:9s} p50 {r['p50']:6.0f} ms  p95 {r['p95']:6.0f} ms  max {r['max']:6.0f} ms "
            f"(n={r['n']}, 4xx {r['refused']}, not ok {r['not_ok']}) {r['why']}")  # fmt: skip
    return results


def browser_args() -> list[str]:
    args = ["--disable-gpu", "--disable-background-networking"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def time_pages(urls: dict[str, str], runs: int, *, log=print) -> dict[str, tuple[float, int]]:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=browser_args())
        for name, url in urls.items():
            out[name] = time_to_drawn(browser, url, runs)
            log(f"{name}: drawn in {out[name][0]:.0f} ms (page {out[name][1]:,} B)")
        browser.close()
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def measure(
    url: str, *, dataset: str, runs: int, pages: int, edits: bool = True, log=print
) -> dict:
    """The numbers for one loaded database (served here for the duration)."""
    community, grids, households = busiest_community(url)
    served = serve(url)
    try:
        result = {"dataset": dataset, "community": community, "grids": grids,
                  "households": households, "load_before": uptime()}  # fmt: skip
        if edits:
            result["edits"] = time_edits(served.url, planner_token(url), community, runs, log=log)
        page_urls = {"community": f"{served.url}/map/planner?community={community}"}
        if dataset == "xuanwu":
            page_urls["district"] = f"{served.url}/map/planner"
        result["pages"] = time_pages(page_urls, pages, log=log)
        result["load_after"] = uptime()
    finally:
        served.stop()
    return result


def _size(n: int) -> str:
    return f"{n / 1e3:,.0f} KB" if n >= 10_000 else f"{n:,} B"


def markdown(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines += [
            f"**{r['dataset']}**, community {r['community']} ({r['grids']} grids, "
            f"{r['households']:,} households). Load before: `{r['load_before']}`; "
            f"after: `{r['load_after']}`.",
            "",
        ]
        if "edits" in r:
            lines += [
                f"| edit (preview) | n | p50 | p95 | max | p95 ≤ {TARGET_EDIT_P95_MS} ms "
                "| 4xx / with errors | answer plain → gzip |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for edit, s in r["edits"].items():
                plain, zipped = s["bytes"]
                ratio = f"{_size(plain)} → {_size(zipped)}" if plain else "–"
                ok = "yes" if s["p95"] <= TARGET_EDIT_P95_MS else "**no**"
                lines.append(
                    f"| {edit} | {s['n']} | {s['p50']:,.0f} ms | {s['p95']:,.0f} ms | "
                    f"{s['max']:,.0f} ms | {ok} | {s['refused']} / {s['not_ok']} | {ratio} |"
                )
            lines.append("")
        target = TARGET_DRAWN_MS["xuanwu" if r["dataset"] == "xuanwu" else "synthetic"]
        for name, (ms, size) in r["pages"].items():
            ok = "within" if ms <= target else "**over**"
            lines.append(
                f"* planner map ({name}) drawn in {ms:,.0f} ms (median of cold loads), "
                f"{ok} the {target / 1000:g} s target; page {size / 1e6:.2f} MB uncompressed."
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="street", choices=("community", "street", "district"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--xuanwu", action="store_true", help="also the Nanjing Xuanwu extract")
    args = parser.parse_args()
    os.environ.setdefault("WANGGE_RATE_LIMIT", "false")
    results = []
    datasets = [("synthetic", args.size)] + ([("xuanwu", "real")] if args.xuanwu else [])
    for dataset, size in datasets:
        cluster, url = start_cluster("edits")
        try:
            load(url, dataset, size)
            results.append(measure(url, dataset=dataset, runs=args.runs, pages=args.pages))
        finally:
            from api.db import get_engine

            get_engine(url).dispose()
            cluster.destroy()
            cluster.state_dir.parent.rmdir()
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
