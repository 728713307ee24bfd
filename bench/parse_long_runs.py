"""Parsing time of long runs of one character (issue 18, item 2): this tree against another
checkout, each in its own process (same module names). Usage:
``python -m bench.parse_long_runs [OTHER_CHECKOUT]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUNS = (("A", 4_000), ("A", 12_000), ("1", 20_000))
ROOT = Path(__file__).resolve().parents[1]

_TIMER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from geo.address.parse import parse
parse("南京市玄武区中山路1号")
for ch, n in {runs!r}:
    times = []
    for _ in range(3):
        t = time.perf_counter(); parse(ch * n); times.append(time.perf_counter() - t)
    print(min(times))
"""


def seconds(checkout: Path) -> list[float]:
    """Best of three parse times per run in RUNS, parsed by the checkout's own code."""
    code = _TIMER.format(runs=RUNS)
    out = subprocess.run(
        [sys.executable, "-c", code, str(checkout)], capture_output=True, text=True, check=True
    )
    return [float(line) for line in out.stdout.split()]


def main() -> None:
    here = seconds(ROOT)
    other = seconds(Path(sys.argv[1])) if len(sys.argv) > 1 else None
    for k, (ch, n) in enumerate(RUNS):
        line = f"{ch!r} × {n:>6,}: {here[k]:.3f} s"
        if other:
            line += f"   other {other[k]:.3f} s   ratio {other[k] / here[k]:.1f}×"
        print(line)


if __name__ == "__main__":
    main()
