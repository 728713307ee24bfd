"""`wangge grids generate --part-households N --workers 2`: a street office given as one
boundary is cut into parts that two Dask workers divide, with the same bytes as one worker."""

from __future__ import annotations

import json

from tests.api import test_grids_parallel as parallel

street_files = parallel.street_files  # the fixture: three communities and the street office


def test_one_boundary_in_parts_on_two_workers_writes_the_bytes_of_one(street_files, tmp_path):
    outs = {}
    for workers in ("1", "2"):
        outs[workers] = out = tmp_path / f"parts-{workers}.geojson"
        done = parallel.wangge(
            "grids", "generate", "--buildings", street_files["buildings"], "--boundary",
            street_files["streets"], "--roads", street_files["roads"], "--out", out,
            "--part-households", "3000", "--workers", workers,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert outs["1"].read_bytes() == outs["2"].read_bytes()
    features = json.loads(outs["1"].read_text(encoding="utf-8"))["features"]
    codes = sorted(f["properties"]["code"] for f in features)
    prefix = codes[0][:12]
    assert codes == [f"{prefix}{s:03d}" for s in range(1, len(codes) + 1)]  # one sequence
    households = sum(f["properties"]["households"] for f in features)
    buildings = json.loads(street_files["buildings"].read_text(encoding="utf-8"))["features"]
    assert households == sum(b["properties"]["households"] for b in buildings)


def test_a_part_size_below_one_is_a_clear_error(street_files, tmp_path):
    out = tmp_path / "never.geojson"
    done = parallel.wangge(
        "grids", "generate", "--buildings", street_files["buildings"], "--boundary",
        street_files["streets"], "--out", out, "--part-households", "0",
    )  # fmt: skip
    assert done.returncode == 1 and "--part-households 须至少为 1" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


street_db = parallel.street_db  # the fixture: the synthetic street office loaded in PostGIS


def test_db_mode_divides_a_large_communitys_parts_on_both_workers(street_db):
    """DB mode, each community cut into parts: the parts run as tasks of their own on both
    workers (not one after another inside the community's task); the same rows as one process."""
    from distributed import get_task_stream

    from api.bulk.pool import open_pool
    from api.grids.generation import Bounds, generate_db

    bounds = Bounds(grid=(300, 500), cut_above=1000)
    with open_pool(2) as pool, get_task_stream(pool.client) as stream:
        run = generate_db(street_db, street=[parallel.STREET], level="grid", bounds=bounds,
                          pool=pool)  # fmt: skip
    assert run.generated and not run.skipped
    parts = [t for t in stream.data if t["key"].startswith("divide_area")]
    communities = {t["key"] for t in stream.data if t["key"].startswith("generate_on_cluster")}
    assert len(communities) == len(run.generated) and len(parts) > len(communities) // 2 > 0
    assert len({t["worker"] for t in parts}) == 2
    generate_db(street_db, street=[parallel.STREET], level="grid", bounds=bounds)
    assert parallel.layer(street_db, 1) == parallel.layer(street_db, 2)
