"""Benchmark of the planner map: time to a drawn map, inline GeoJSON vs vector tiles, and tile
latency.

    .venv/bin/python -m bench.maps [--size district] [--runs 3] [--tiles 300]

The synthetic city of ``--size`` (district: 557 grids and about 5,600 micro-grids in 71
communities) is loaded with its grids into a throwaway PostGIS cluster, the app is served by
uvicorn on loopback (base tiles off), and Debian's chromium (Playwright, headless) opens
/map/planner?district=990101 with

* ``layers=grids`` — the grid layer alone (the "500-grid" case), and
* ``layers=grids&layers=micro_grids`` — grids and every micro-grid,

each rendered inline (``render=inline``, the baseline: one GeoJSON document in the page, drawn
as SVG) and as vector tiles (``render=tiles``: /tiles/{layer}/{z}/{x}/{y}.pbf from ST_AsMVT,
drawn on canvas by Leaflet.VectorGrid). "Drawn" is the moment the page's script has every layer
on screen (``wangge.drawnAt``: inline layers once added, tile layers when their visible tiles
have loaded), in ms since navigation start, median of ``--runs`` cold page loads (a new
browser context each time). Tile latency: ``--tiles`` sequential GETs over the district's
tiles at zooms 14–17 (every layer in turn), p50 and p95 in ms, as a client on loopback sees
them. The output is a Markdown block for bench/RESULTS.md ("Maps").
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

DISTRICT = "990101"
LAYER_SETS = {"grids": ("grids",), "grids + micro-grids": ("grids", "micro_grids")}
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Served:
    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def load_city(size: str, *, log=print):
    """A throwaway cluster with the synthetic city and its grids: (cluster, database URL)."""
    from api.db import get_engine, transaction
    from api.demo.datasets import build_grids, load_synthetic
    from api.storage import migrate
    from api.storage.launcher import Cluster

    state = Path(tempfile.mkdtemp(prefix="wangge-bench-maps-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    cluster.ensure_database("maps")
    url = cluster.url("maps")
    migrate.upgrade(url)
    t0 = time.perf_counter()
    with transaction(url) as session:
        load_synthetic(session, size=size, log=lambda _: None)
        build_grids(session, log=lambda _: None)
    get_engine(url).dispose()
    log(f"loaded the {size} city with grids in {time.perf_counter() - t0:.1f} s")
    return cluster, url


def serve(database_url: str) -> Served:
    """The app under uvicorn on a free loopback port, base tiles off, no rate limits."""
    import socket

    import uvicorn

    from api.main import create_app
    from api.settings import get_settings

    os.environ["WANGGE_TILE_URL"] = "none"
    os.environ["WANGGE_RATE_LIMIT"] = "false"
    get_settings.cache_clear()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(database_url), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return Served(f"http://127.0.0.1:{port}", server, thread)


def time_to_drawn(browser, url: str, runs: int) -> tuple[float, int]:
    """(median ms from navigation start to every layer drawn, HTML bytes) over cold loads."""
    size = len(httpx.get(url, timeout=300).content)
    times = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_function(
            "() => document.body && document.body.dataset.drawn === '1'", timeout=120_000
        )
        times.append(page.evaluate("wangge.drawnAt"))
        context.close()
        if errors:
            msg = f"{url}: {errors[0]}"
            raise RuntimeError(msg)
    return statistics.median(times), size


def tile_range(south: float, west: float, north: float, east: float, z: int):
    n = 1 << z

    def tx(lon: float) -> int:
        return min(n - 1, int((lon + 180) / 360 * n))

    def ty(lat: float) -> int:
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return min(n - 1, int(y))

    return [
        (z, x, y) for x in range(tx(west), tx(east) + 1) for y in range(ty(north), ty(south) + 1)
    ]


def tile_latency(base: str, bounds, count: int) -> dict[str, float]:
    """p50/p95 ms and the share of non-empty tiles over `count` sequential tile requests."""
    (south, west), (north, east) = bounds
    tiles = [t for z in (14, 15, 16, 17) for t in tile_range(south, west, north, east, z)]
    layers = ("grids", "micro_grids", "buildings")
    step = max(1, len(tiles) * len(layers) // count)
    plan = [(layer, t) for t in tiles for layer in layers][::step][:count]
    times, full = [], 0
    with httpx.Client(base_url=base) as client:
        for layer, (z, x, y) in plan:
            t0 = time.perf_counter()
            response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code not in (200, 204):
                msg = f"tile {layer}/{z}/{x}/{y}: HTTP {response.status_code}"
                raise RuntimeError(msg)
            full += response.status_code == 200
    times.sort()
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
        "non_empty": full / max(1, len(times)),
    }


def run(
    size: str = "district",
    *,
    runs: int = 3,
    tiles: int = 300,
    database_url: str | None = None,
    log=print,
) -> dict:
    """Load, serve, measure; returns the numbers. With `database_url` (a database already
    holding a city with grids, as in the smoke test) nothing is loaded."""
    from playwright.sync_api import sync_playwright

    from api.db import transaction
    from api.storage import map_data

    cluster, url = (None, database_url) if database_url else load_city(size, log=log)
    served = serve(url)
    try:
        with transaction(url) as session:
            codes = map_data.communities_of(session, street=None, community=None)
            counts = {
                "grids": map_data.count_grids(session, codes, "grid"),
                "micro_grids": map_data.count_grids(session, codes, "micro"),
            }
            bounds = map_data.extent(session, codes)
        results: dict = {"size": size, "counts": counts, "pages": {}}
        args = ["--disable-gpu", "--disable-background-networking"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            for name, layers in LAYER_SETS.items():
                query = "&".join(f"layers={layer}" for layer in layers)
                for render in ("inline", "tiles"):
                    page = f"{served.url}/map/planner?district={DISTRICT}&{query}&render={render}"
                    ms, size_bytes = time_to_drawn(browser, page, runs)
                    results["pages"][(name, render)] = (ms, size_bytes)
                    log(f"{name:22s} {render:6s} drawn in {ms:7.0f} ms, page {size_bytes:,} B")
            browser.close()
        results["tiles"] = tile_latency(served.url, bounds, tiles)
        log(
            "tiles: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {n} requests "
            "({non_empty:.0%} non-empty)".format(**results["tiles"])
        )
    finally:
        served.stop()
        if cluster is not None:
            cluster.destroy()
    return results


def markdown(results: dict) -> str:
    c = results["counts"]
    lines = [
        f"{results['size']}-size synthetic city: {c['grids']:,} grids, {c['micro_grids']:,} "
        "micro-grids. Time to a drawn map (median of cold loads, ms since navigation start):",
        "",
        "| layers | inline GeoJSON (baseline) | vector tiles | speed-up (inline ÷ tiles) "
        "| page size inline / tiles |",
        "|---|---|---|---|---|",
    ]
    for name in LAYER_SETS:
        inline, inline_b = results["pages"][(name, "inline")]
        tiles, tiles_b = results["pages"][(name, "tiles")]
        lines.append(
            f"| {name} | {inline:,.0f} ms | {tiles:,.0f} ms | {inline / tiles:.2f}× | "
            f"{inline_b / 1e6:.2f} MB / {tiles_b / 1e6:.2f} MB |"
        )
    t = results["tiles"]
    lines += [
        "",
        f"Tile latency over {t['n']} sequential requests (z14–17, grids, micro-grids, buildings; "
        f"{t['non_empty']:.0%} non-empty): p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="district", choices=("community", "street", "district"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiles", type=int, default=300)
    args = parser.parse_args()
    results = run(args.size, runs=args.runs, tiles=args.tiles)
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
