"""Processes the benchmarks start: a measured run in a fresh interpreter, a service to wait for."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Linux keeps a process's peak RSS across fork and exec (getrusage ru_maxrss starts at the
# parent's resident size), so measured runs are started by this small launcher process rather
# than by the benchmark process, which may hold large inputs.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def fresh_run(args: list[str], what: str) -> dict:
    """Run ``python ARGS`` in a fresh process; its last line of output, read as JSON."""
    cmd = [sys.executable, "-c", LAUNCHER, sys.executable, *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_healthy(base: str, *, seconds: float, proc: subprocess.Popen | None = None) -> bool:
    """True once ``base``/api/health answers 200; False after ``seconds`` or if ``proc`` ends."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.3)
    return False


@contextmanager
def private_database(name: str = "bench") -> Iterator[str]:
    """The URL of a migrated database `name` in a private PostGIS cluster, destroyed after."""
    from api.storage import migrate
    from api.storage.launcher import Cluster

    state = Path(tempfile.mkdtemp(prefix="wangge-bench-", dir="/tmp"))
    state.chmod(0o755)
    cluster = Cluster(state / "cluster", fast=True)
    cluster.start()
    try:
        cluster.ensure_database(name)
        migrate.upgrade(cluster.url(name))
        yield cluster.url(name)
    finally:
        cluster.destroy()
        state.rmdir()
