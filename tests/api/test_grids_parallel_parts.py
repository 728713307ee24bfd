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
