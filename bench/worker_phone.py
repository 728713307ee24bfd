"""Benchmark of the grid worker's phone app: the list of 200 cases drawn on a slow phone.

    .venv/bin/python -m bench.worker_phone [--cases 200] [--runs 5] [--cpu 4]

The synthetic 'community' city is loaded with its grids into a throwaway PostGIS cluster
(bench/maps.py), `--cases` reports are filed inside one grid through POST /api/cases and all
assigned to the worker of the signed-in account, and the app is served by uvicorn on loopback.
Debian's chromium (Playwright, headless) opens /map/worker as a 390×844 touch phone with the
CPU slowed `--cpu` times (CDP Emulation.setCPUThrottlingRate) and the network throttled to
1.6 Mbit/s down, 750 kbit/s up and 150 ms latency (CDP Network.emulateNetworkConditions), signs
in, and waits for the list. Three times per run, medians over `--runs` fresh contexts:

* render: the list's answer received → every card and marker drawn (the page's own clock,
  ``wangge.workerPage.timing``, after the next animation frame);
* request: GET /api/cases sent → drawn (the answer over the throttled link included);
* sign-in: the 登录 tap → drawn (token, profile, then the list).

The output is a Markdown block for bench/RESULTS.md ("Worker app on a phone").
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx

from bench.maps import CHROMIUM, load_city, serve

PASSWORD = "Bench-worker-2026"
SLOW_3G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
           "uploadThroughput": 750_000 / 8}  # fmt: skip


def seed(url: str, base: str, cases: int) -> str:
    """A worker account for the first grid and `cases` open cases assigned to its worker."""
    from shapely.geometry import shape
    from sqlalchemy import text

    from api.accounts import create_user
    from api.cases import dispatch
    from api.db import get_engine, transaction

    grid = httpx.get(f"{base}/api/grids", params={"level": "grid"}, timeout=60).json()
    grid = grid["features"][0]
    code = grid["properties"]["code"]
    with transaction(url) as session:
        pk = dispatch.pick_assignee(session, code)
        worker = session.execute(
            text("SELECT worker_id FROM workers WHERE id = :pk"), {"pk": pk}
        ).scalar_one()
        create_user(session, "bench_worker", "grid_worker", PASSWORD, grid_codes=[code],
                    worker=worker)  # fmt: skip
    point = shape(grid["geometry"]).representative_point()
    category = httpx.get(f"{base}/api/categories").json()[0]["code"]
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(cases):
            body = {"lon": point.x + (i % 20) * 1e-5, "lat": point.y + (i // 20) * 1e-5,
                    "category": category, "description": f"第{i + 1}号：楼道堆放杂物"}  # fmt: skip
            r = client.post("/api/cases", json=body)
            if r.status_code != 201:
                msg = f"report {i}: HTTP {r.status_code} {r.text[:200]}"
                raise RuntimeError(msg)
    with transaction(url) as session:
        session.execute(
            text("UPDATE cases SET assignee_id = :pk WHERE grid_code = :g"), {"pk": pk, "g": code}
        )
    get_engine(url).dispose()
    return "bench_worker"


def one_run(browser, base: str, username: str, cpu: float, cases: int) -> dict[str, float]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    page.goto(f"{base}/map/worker", timeout=120_000)
    page.wait_for_function("() => document.body.dataset.drawn === '1'", timeout=120_000)
    page.fill("#signin [name=username]", username)
    page.fill("#signin [name=password]", PASSWORD)
    tapped = page.evaluate("performance.now()")
    page.tap("#signin button")
    page.wait_for_function(f"() => document.body.dataset.casesDrawn === '{cases}'", timeout=120_000)
    timing = page.evaluate("wangge.workerPage.timing")
    drawn = page.locator("#case-list li[data-case]").count()
    context.close()
    if errors or drawn != cases:
        msg = f"worker page: {errors[:1]} {drawn} cards of {cases}"
        raise RuntimeError(msg)
    return {
        "render": timing["drawn"] - timing["received"],
        "request": timing["drawn"] - timing["requested"],
        "sign_in": timing["drawn"] - tapped,
    }


def run(cases: int = 200, *, runs: int = 5, cpu: float = 4, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    cluster, url = load_city("community", log=log)
    served = serve(url)
    try:
        t0 = time.perf_counter()
        username = seed(url, served.url, cases)
        log(f"filed {cases} cases in {time.perf_counter() - t0:.1f} s")
        args = ["--disable-gpu", "--disable-background-networking"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            samples = [one_run(browser, served.url, username, cpu, cases) for _ in range(runs)]
            browser.close()
    finally:
        served.stop()
        cluster.stop()
    medians = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    worst = {k: max(s[k] for s in samples) for k in samples[0]}
    return {"cases": cases, "runs": runs, "cpu": cpu, "median": medians, "max": worst}


def markdown(r: dict) -> str:
    rows = [("render (answer → drawn)", "render"), ("request (GET sent → drawn)", "request"),
            ("sign-in tap → drawn", "sign_in")]  # fmt: skip
    lines = [
        f"{r['cases']} cases, 390×844 touch, CPU ×{r['cpu']:g} slower, 1.6 Mbit/s / 150 ms; "
        f"median and worst of {r['runs']} fresh contexts:",
        "",
        "| list of cases | median ms | worst ms |",
        "|---|---:|---:|",
        *(f"| {label} | {r['median'][k]:.0f} | {r['max'][k]:.0f} |" for label, k in rows),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=float, default=4)
    a = parser.parse_args()
    print(markdown(run(a.cases, runs=a.runs, cpu=a.cpu)))


if __name__ == "__main__":
    main()
