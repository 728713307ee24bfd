"""Benchmark of the resident's pages on a slow phone link: bytes transferred and time to usable.

    .venv/bin/python -m bench.report_phone [--runs 5] [--cpu 4]

The synthetic 'community' city is loaded into a throwaway PostGIS cluster (bench/maps.py) and
served by uvicorn on loopback, base tiles off (the machine is offline; see RESULTS.md for what
the tiles add). Debian's chromium (Playwright, headless) opens, as a 390×844 touch phone with an
empty cache, the report page /map/report and a receipt's status page /map/report/<receipt>,
over a link throttled by CDP Network.emulateNetworkConditions to 1.6 Mbit/s down, 750 kbit/s up
and 150 ms latency, with the CPU slowed `--cpu` times (Emulation.setCPUThrottlingRate).

* transferred: the sum of every response's encodedDataLength (headers and compressed body, as
  on the wire) from navigation until the network is idle;
* first paint: the first-contentful-paint entry;
* usable: the page's script has run and its controls answer (``wangge.readyAt``; the status
  page: its timeline has arrived), in ms since navigation start.

Targets (issue 17, item 5): at most 0.5 MB and usable within 3 s. Medians and worst of `--runs`
fresh contexts; the output is a Markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics

import httpx

from bench.maps import CHROMIUM, load_city, serve

LINK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
        "uploadThroughput": 750_000 / 8}  # fmt: skip
BUDGET_BYTES, BUDGET_MS = 500_000, 3_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}  # fmt: skip
COMMUNITY = "990101001001"


def file_report(base: str) -> str:
    """A report on a building of the city; its receipt."""
    from shapely.geometry import shape

    found = httpx.get(f"{base}/api/buildings", params={"community": COMMUNITY}, timeout=60)
    feature = found.json()["features"][0]
    point = shape(feature["geometry"]).representative_point()
    body = {"lon": point.x, "lat": point.y, "crs": "wgs84", "category": "environment.garbage",
            "description": "垃圾桶满了"}  # fmt: skip
    r = httpx.post(f"{base}/api/cases", json=body, timeout=60)
    r.raise_for_status()
    return r.json()["receipt"]


def load_once(browser, url: str, cpu: float) -> dict:
    """One cold load of `url` on the throttled phone: bytes, requests, first paint, usable."""
    context = browser.new_context(**PHONE)
    page, problems, wire = context.new_page(), [], []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    cdp = context.new_cdp_session(page)
    cdp.on("Network.loadingFinished", lambda event: wire.append(event["encodedDataLength"]))
    for method, params in (
        ("Network.enable", {}),
        ("Network.setCacheDisabled", {"cacheDisabled": True}),
        ("Network.emulateNetworkConditions", LINK),
        ("Emulation.setCPUThrottlingRate", {"rate": cpu}),
    ):
        cdp.send(method, params)
    page.goto(url, timeout=120_000)
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)
    usable = page.evaluate("wangge.readyAt")
    paint = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    context.close()
    if problems:
        msg = f"{url}: {problems[0]}"
        raise RuntimeError(msg)
    return {"bytes": sum(wire), "requests": len(wire), "paint": paint, "usable": usable}


def run(*, runs: int = 5, cpu: float = 4, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    cluster, url = load_city("community", log=log)
    served = serve(url)
    pages = {"report page /map/report": f"{served.url}/map/report"}
    try:
        pages["status page /map/report/<receipt>"] = (
            f"{served.url}/map/report/{file_report(served.url)}"
        )
        flags = ["--disable-gpu", "--disable-background-networking"]
        flags += ["--no-sandbox"] if os.geteuid() == 0 else []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
            samples = {name: [load_once(browser, u, cpu) for _ in range(runs)]
                       for name, u in pages.items()}  # fmt: skip
            browser.close()
    finally:
        served.stop()
        cluster.stop()
    return {"runs": runs, "cpu": cpu, "samples": samples}


def markdown(result: dict) -> str:
    lines = [
        f"390×844 touch, empty cache, 1.6 Mbit/s down / 750 kbit/s up / 150 ms, CPU ×"
        f"{result['cpu']:g} slower, base tiles off; median (worst) of {result['runs']} cold loads:",
        "",
        "| page | transferred KB | requests | first paint ms | usable ms | within 0.5 MB and 3 s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, samples in result["samples"].items():
        col = {k: [s[k] for s in samples] for k in samples[0]}
        kb = statistics.median(col["bytes"]) / 1000
        ok = max(col["bytes"]) <= BUDGET_BYTES and max(col["usable"]) <= BUDGET_MS
        lines.append(
            f"| {name} | {kb:.0f} ({max(col['bytes']) / 1000:.0f}) | "
            f"{statistics.median(col['requests']):.0f} | "
            f"{statistics.median(col['paint']):.0f} ({max(col['paint']):.0f}) | "
            f"{statistics.median(col['usable']):.0f} ({max(col['usable']):.0f}) | "
            f"{'yes' if ok else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=float, default=4)
    args = parser.parse_args()
    print(markdown(run(runs=args.runs, cpu=args.cpu)))


if __name__ == "__main__":
    main()
