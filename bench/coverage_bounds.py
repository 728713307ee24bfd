"""Hostile coverage requests against a running service: `--requests` anonymous
`GET /api/coverage?minutes=…` at once (each value its own analysis) while `/api/health` is polled
every 0.2 s; prints each answer's status and time, and the health latencies.

    .venv/bin/python -m bench.coverage_bounds --base http://127.0.0.1:8000 [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx


async def storm(base: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        health: list[float] = []
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                start = time.perf_counter()
                await client.get("/api/health")
                health.append(time.perf_counter() - start)
                await asyncio.sleep(0.2)

        async def coverage(minutes: float) -> tuple[float, int, float, str]:
            start = time.perf_counter()
            answer = await client.get("/api/coverage", params={"minutes": minutes})
            detail = answer.json().get("detail", "")[:40] if answer.status_code != 200 else ""
            return minutes, answer.status_code, time.perf_counter() - start, detail

        poller = asyncio.create_task(poll())
        start = time.perf_counter()
        answers = await asyncio.gather(*(coverage(m) for m in range(1, requests + 1)))
        wall = time.perf_counter() - start
        done.set()
        await poller
    for minutes, status, seconds, detail in answers:
        print(f"minutes={minutes:g}: {status} in {seconds:.1f} s {detail}")
    print(
        f"wall {wall:.1f} s; health n={len(health)}, median "
        f"{statistics.median(health) * 1000:.0f} ms, max {max(health) * 1000:.0f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    asyncio.run(storm(args.base, args.requests))


if __name__ == "__main__":
    main()
