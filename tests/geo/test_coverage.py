"""Coverage shares, gap areas and greedy site choice on hand-made minutes."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from geo.coverage import (
    ALL,
    ANY,
    coverage_table,
    covered_by,
    cut,
    function_minutes,
    gap_areas,
    greedy_max_cover,
    uncovered,
)
from geo.errors import InputError

INF = np.inf


def test_function_minutes_takes_nearest_station_offering_each_function():
    # 2 stations × 3 buildings; station 0 offers everything, station 1 only health
    reach = sp.csr_matrix(([4.0, 12.0, 3.0, 7.0], ([0, 0, 1, 1], [0, 1, 1, 2])), shape=(2, 3))
    six = ["childcare", "elderly_care", "health", "food", "leisure", "services"]
    table = function_minutes(reach, [six, ["health"]])
    assert table["health"].tolist() == [4.0, 3.0, 7.0]
    assert table["food"].tolist() == [4.0, 12.0, INF]
    assert table[ANY].tolist() == [4.0, 3.0, 7.0]
    assert table[ALL].tolist() == [4.0, 12.0, INF]


def test_function_minutes_keeps_explicit_zero_minutes():
    reach = sp.csr_matrix(([0.0], ([0], [1])), shape=(1, 2))
    assert function_minutes(reach, [["food"]])["food"].tolist() == [INF, 0.0]


def test_function_minutes_checks_rows():
    with pytest.raises(InputError, match="2 function lists for 1 stations"):
        function_minutes(np.zeros((1, 3)), [["food"], ["health"]])


def test_coverage_table_by_hand():
    buildings = pd.DataFrame(
        {
            "households": [100, 50, 30, 20],
            "community_code": ["A", "A", "B", None],
        }
    )
    minutes = pd.DataFrame({"food": [3.0, 8.0, 14.0, INF]})
    table = coverage_table(buildings, minutes, thresholds=(5, 10, 15), by=["community_code"])
    total = table[table.level == "total"].set_index("minutes")
    assert total.loc[5.0, "covered"] == 100
    assert total.loc[10.0, "covered"] == 150
    assert total.loc[15.0, "covered"] == 180
    assert total.loc[15.0, "households"] == 200
    assert total.loc[15.0, "share"] == pytest.approx(0.9)
    assert total.loc[15.0, "uncovered_buildings"] == 1
    per = table[table.level == "community_code"].set_index(["code", "minutes"])
    assert per.loc[("A", 5.0), "share"] == pytest.approx(100 / 150)
    assert per.loc[("B", 10.0), "covered"] == 0
    assert per.loc[("B", 15.0), "covered"] == 30
    assert set(per.index.get_level_values(0)) == {"A", "B"}  # the None row forms no group


def test_coverage_table_refuses_mismatch():
    with pytest.raises(InputError, match="3 buildings but 2 rows"):
        coverage_table(pd.DataFrame({"households": [1, 2, 3]}), pd.DataFrame({"food": [1, 2]}))


def test_uncovered_mask():
    minutes = pd.DataFrame({ANY: [3.0, 16.0, INF]})
    assert uncovered(minutes, within=15).tolist() == [False, True, True]
    with pytest.raises(InputError, match="unknown function"):
        uncovered(minutes, function="zoo")


def test_gap_areas_dissolve_near_buildings():
    # two buildings 20 m apart in one gap, a third 500 m away in another
    utm = "EPSG:32650"
    points = gpd.GeoSeries([Point(0, 0), Point(20, 0), Point(500, 0)], crs=utm)
    buildings = gpd.GeoDataFrame(
        {"households": [10, 5, 7]},
        geometry=points.buffer(5).translate(660000, 3540000),
        crs=utm,
    ).to_crs(4326)
    gaps = gap_areas(buildings, buffer_m=30)
    assert gaps.crs.to_epsg() == 4326
    assert gaps["households"].tolist() == [15, 7]
    assert gaps["buildings"].tolist() == [2, 1]
    assert gap_areas(buildings.iloc[:0]).empty


def _brute_force(cover: np.ndarray, w: np.ndarray, k: int) -> int:
    best = 0
    for rows in itertools.combinations(range(cover.shape[0]), k):
        best = max(best, int(w[cover[list(rows)].any(axis=0)].sum()))
    return best


def test_greedy_on_a_case_where_it_is_not_optimal():
    # the classic trap: a big middle set first, then the two halves would have been better
    cover = np.array(
        [
            [1, 1, 1, 1, 0, 0],  # middle
            [1, 1, 0, 0, 1, 0],  # left half + extra
            [0, 0, 1, 1, 0, 1],  # right half + extra
        ]
    )
    w = np.array([10, 10, 10, 10, 15, 15])
    choice = greedy_max_cover(sp.csr_matrix(cover), w, k=2)
    assert choice.chosen[0] == 0
    optimum = _brute_force(cover, w, 2)
    assert optimum == 70
    assert choice.covered == 55
    assert choice.covered >= choice.guarantee * optimum
    assert choice.upper_bound >= optimum


def test_greedy_random_instances_within_bound():
    rng = np.random.default_rng(3)
    for _ in range(20):
        cover = rng.random((8, 15)) < 0.25
        w = rng.integers(1, 50, 15)
        choice = greedy_max_cover(cover, w, k=3)
        optimum = _brute_force(cover, w, 3)
        assert choice.covered <= optimum <= choice.upper_bound
        assert choice.covered >= (1 - 1 / np.e) * optimum
        assert sum(choice.gains) == choice.covered
        assert choice.covered == int(w[covered_by(sp.csr_matrix(cover), choice.chosen)].sum())


def test_greedy_stops_when_nothing_left_and_checks_k():
    choice = greedy_max_cover(np.array([[1, 0], [1, 0]]), [5, 3], k=5)
    assert choice.chosen == [0]
    assert choice.covered == 5 and choice.demand == 8
    with pytest.raises(InputError, match="k must be at least 1"):
        greedy_max_cover(np.eye(2), [1, 1], k=0)


def test_cut_keeps_entries_within_minutes():
    reach = sp.csr_matrix(([0.0, 6.0, 11.0], ([0, 0, 1], [0, 1, 1])), shape=(2, 2))
    assert cut(reach, within=10).toarray().tolist() == [[True, True], [False, False]]
