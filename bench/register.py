"""Household register joining: a messy 楼栋台账 of the synthetic city (data/register.py) against
the buildings it was made from.

    .venv/bin/python -m bench.register [--size street] [--seed 0] [--database-url URL]

Without ``--database-url`` a throwaway PostGIS cluster is made in /tmp (fsync off), the
synthetic city of ``--size`` loaded into it, the register written as .xlsx and .csv, and each
read and joined (api.ingest.register.read_register + match_rows; nothing is written). A row
counts as right when it reaches the building it was made from, wrong when it reaches another
one, reported when it is listed unmatched or ambiguous. Rows made for buildings that do not
exist (or naming only a compound) are right only when reported.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from api.ingest.register import match_rows, read_register
from data.register import messy_register, write_register


@dataclass(frozen=True)
class Joined:
    rows: int
    for_buildings: int  # rows made from a building
    right: int  # rows reaching their own building
    wrong: int  # rows confidently joined to another building
    reported: int  # rows listed as unmatched or ambiguous
    absent_reported: int  # rows for no building, reported (as they must be)
    absent: int
    seconds: float


def evaluate(url: str, path: Path, truth: dict[int, str | None]) -> Joined:
    """Join the register at `path` in the database at `url` and score it against `truth`."""
    from api.db import transaction

    t0 = time.perf_counter()
    rows = read_register(path)
    with transaction(url) as session:
        matches = match_rows(session, url, rows)
    seconds = time.perf_counter() - t0
    got = {m.row: m.building_id for m in matches}
    if set(got) != set(truth):
        msg = f"rows read {len(got)} differ from rows written {len(truth)}"
        raise SystemExit(msg)
    made = [n for n, b in truth.items() if b is not None]
    return Joined(
        rows=len(rows),
        for_buildings=len(made),
        right=sum(got[n] == truth[n] for n in made),
        wrong=sum(got[n] is not None and got[n] != truth[n] for n in truth),
        reported=sum(got[n] is None for n in truth),
        absent_reported=sum(got[n] is None for n, b in truth.items() if b is None),
        absent=sum(b is None for b in truth.values()),
        seconds=seconds,
    )


def run(url: str, *, size: str, seed: int, workdir: Path) -> dict[str, Joined]:
    from data.synthetic import generate_city

    city = generate_city(size=size, seed=0)
    rows, truth = messy_register(city.buildings, city.compounds, seed=seed)
    return {
        suffix: evaluate(url, write_register(rows, workdir / f"register{suffix}"), truth)
        for suffix in (".xlsx", ".csv")
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", default="street", help="synthetic city: community|street|district"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the register's messes")
    parser.add_argument("--database-url", help="a database holding the same city")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="wangge-register-", dir="/tmp"))
    work.chmod(0o755)
    cluster, url = None, args.database_url
    try:
        if url is None:
            from api.db import transaction
            from api.demo.datasets import load_synthetic
            from api.storage import migrate
            from api.storage.launcher import Cluster

            cluster = Cluster(work / "cluster", fast=True, database="register")
            cluster.start()
            url = cluster.url()
            migrate.upgrade(url)
            with transaction(url) as session:
                load_synthetic(session, size=args.size, log=lambda _: None)
        for suffix, j in run(url, size=args.size, seed=args.seed, workdir=work).items():
            print(
                f"{suffix}: {j.rows} rows; {j.right}/{j.for_buildings} = "
                f"{j.right / j.for_buildings:.1%} to the right building; {j.wrong} wrong; "
                f"{j.reported} reported ({j.absent_reported}/{j.absent} rows for no building "
                f"among them); read + joined in {j.seconds:.1f} s"
            )
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
