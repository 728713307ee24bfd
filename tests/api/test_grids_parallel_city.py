"""bench/city.py on a small city: the composed city is what it says, and one worker and two
give the same layer (its digest), with the time, CPU and memory recorded (no timing asserts)."""

from __future__ import annotations

import pickle

import pytest

from bench.city import build_city, run, table


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    city = build_city(3, 20_000)
    path = tmp_path_factory.mktemp("city") / "city.pickle"
    path.write_bytes(pickle.dumps(city))
    return city, path


def test_the_city_holds_the_households_asked_for_in_its_communities(small_city):
    city, _ = small_city
    b, c = city["buildings"], city["communities"]
    assert len(c) == 3 and c["code"].is_unique
    assert set(b["community_code"]) == set(c["code"])
    assert b["building_id"].is_unique
    assert int(b["households"].sum()) == 20_000
    assert (b["households"] >= 0).all()


def test_one_and_two_workers_give_the_same_layer(small_city):
    _, path = small_city
    rows = [run(path, "grid", n) for n in (1, 2)]
    assert rows[0]["digest"] == rows[1]["digest"]
    assert rows[0]["grid"] == rows[1]["grid"] and rows[0]["grid"]["count"] > 3 * 4
    for r in rows:
        assert r["cpu_s"] > 0 and r["peak_mb"] > 50 and r["households"] == rows[0]["households"]
    assert rows[1]["workers"] == 2
    one, two = rows
    assert one["tasks"] == two["tasks"] == 3  # an area a community, timed where it ran
    # one process: the areas ran in it; its children (the memory sampler's, if any) add little
    assert one["cpu_workers_s"] < 0.5 * one["cpu_tasks_s"]
    assert 0 < one["cpu_tasks_s"] <= one["cpu_driver_s"]
    assert 0 < two["cpu_tasks_s"] <= two["cpu_workers_s"]  # the areas ran in the workers
    shown = table([{**r, "load": "n/a"} for r in rows])
    assert "1.00×" in shown and rows[0]["digest"] in shown
