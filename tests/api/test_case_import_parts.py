"""The parts of `wangge cases import` that run without a database: the assignment in the file's
order against single intake's rule, and the COPY text of awkward values."""

from __future__ import annotations

import numpy as np
import pytest

from api.cases.dispatch import choose_worker
from api.cases.import_copy import Assigner
from api.cases.import_rows import NULL, copy_text, receipts

ROLES = ("full_time", "part_time", "grid_leader", "building_lead")


def _layout(rng: np.random.Generator, grids: int, workers: int, shared: bool) -> list[tuple]:
    """(grid, pk, worker_id, role, load) rows: random roles and loads, some workers in two
    grids when `shared`, some grids with leaders only or no one who takes cases."""
    rows = []
    for pk in range(1, workers + 1):
        role = ROLES[rng.integers(0, len(ROLES))]
        load = int(rng.integers(0, 4))
        wid = f"W{rng.integers(0, 10**6):06d}"
        homes = rng.choice(grids, size=2 if shared and rng.random() < 0.3 else 1, replace=False)
        rows += [(f"G{g:03d}", pk, wid, role, load) for g in homes]
    return rows


def _one_by_one(rows: list[tuple], grids: list) -> list:
    """Single intake's rule, row after row (api.cases.dispatch.choose_worker)."""
    load = {pk: n for _, pk, _, _, n in rows}
    out = []
    for grid in grids:
        workers = [(pk, wid, role, load[pk]) for g, pk, wid, role, _ in rows if g == grid]
        pk = choose_worker(workers)
        if pk is not None:
            load[pk] += 1
        out.append(pk)
    return out


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_assignment_in_parts_is_single_intakes_rule_in_file_order(seed, shared):
    rng = np.random.default_rng(seed)
    rows = _layout(rng, grids=12, workers=int(rng.integers(8, 30)), shared=shared)
    grids = [f"G{g:03d}" for g in rng.integers(0, 14, 3000)]  # G012, G013: no workers
    assigner = Assigner(rows)
    got: list = []
    cuts = sorted(rng.choice(np.arange(1, len(grids)), size=7, replace=False))
    for part in np.split(np.array(grids, dtype=object), cuts):
        got += assigner.assign(part).tolist()
    want = _one_by_one(rows, grids)
    assert got == want
    assert None in want and len({pk for pk in want if pk is not None}) > 3


def test_a_grid_with_one_worker_of_its_own_takes_all_its_cases():
    rows = [("A", 1, "FA", "full_time", 5), ("A", 2, "LA", "grid_leader", 0),
            ("B", 3, "LB", "grid_leader", 2)]  # fmt: skip
    assigner = Assigner(rows)
    assert assigner.alone == {"A": 1, "B": 3}
    got = assigner.assign(np.array(["A", "B", "A", "C"], dtype=object))
    assert got.tolist() == [1, 3, 1, None]
    assert assigner.load == {1: 7, 2: 0, 3: 3}


def test_copy_text_escapes_what_copy_reads_specially():
    values = ["a\tb", "back\\slash", "line\nbreak\r", "\\.", "", None, float("nan"), "普通"]
    assert copy_text(values).tolist() == [
        "a\\tb", "back\\\\slash", "line\\nbreak\\r", "\\\\.", NULL, NULL, NULL, "普通",
    ]  # fmt: skip
    assert copy_text(["plain", "text"]).tolist() == ["plain", "text"]


def test_receipts_are_distinct_url_safe_codes():
    codes = receipts(5000)
    assert len(codes) == len(set(codes)) == 5000
    assert {len(c) for c in codes} == {22}
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert set("".join(codes)) <= alphabet
    assert receipts(0) == []
