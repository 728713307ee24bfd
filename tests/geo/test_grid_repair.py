"""repair_layer on layers broken by hand from a valid generated one."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.crs import utm_crs
from geo.grids.edit import repair_layer, validate_layer
from tests.geo.demo_scene import RUIXIANG, demo_city
from tests.geo.demo_scene import scene as community_scene


@pytest.fixture(scope="module")
def scene():
    area, buildings, layer = community_scene([RUIXIANG])
    return area, buildings, demo_city().roads, layer, utm_crs(area)


def _errors(layer, buildings, area):
    problems = validate_layer(layer, buildings, area)
    return problems[problems["severity"] == "error"]


def _neighbours(layer, crs):
    grids = layer[layer["level"] == "grid"].set_index("code").geometry.to_crs(crs)
    codes = sorted(grids.index)
    pairs = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]
    return max(pairs, key=lambda p: grids[p[0]].intersection(grids[p[1]]).length), grids


def _set(layer, code, geom):
    out = layer.copy()
    out.loc[out["code"] == code, "geometry"] = gpd.GeoSeries([geom], crs=4326).to_numpy()
    return out


def _to84(geom, crs):
    return gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]


def _broken(layer, crs):
    """Overlap (a reaches 15 m into b), gap (a hole cut out of c), micro-grids missing in d."""
    (a, b), grids = _neighbours(layer, crs)
    others = [c for c in grids.index if c not in (a, b)]
    c, d = others[0], others[1]
    bulge = grids[a].buffer(15).intersection(grids[b])
    out = _set(layer, a, _to84(grids[a].union(bulge), crs))
    inner = grids[c].buffer(-25)
    hole = shapely.box(*inner.centroid.buffer(12).bounds).intersection(inner)
    out = _set(out, c, _to84(grids[c].difference(hole), crs))
    out = out[out["parent_code"] != d].reset_index(drop=True)
    return out, {"a": a, "b": b, "c": c, "d": d}


def test_a_broken_layer_comes_back_without_errors(scene):
    area, buildings, roads, layer, crs = scene
    assert _errors(layer, buildings, area).empty
    broken, codes = _broken(layer, crs)
    kinds = set(_errors(broken, buildings, area)["kind"])
    assert {"overlap", "gap", "micro_not_nested"} <= kinds, kinds
    out = repair_layer(broken, buildings, area, roads=roads)
    left = _errors(out.grids, buildings, area)
    assert left.empty, left[["kind", "message_en"]].to_string()
    grid_codes = sorted(layer.loc[layer["level"] == "grid", "code"])
    assert sorted(out.grids.loc[out.grids["level"] == "grid", "code"]) == grid_codes
    assert set(out.report["redivided"]) >= {codes["d"]}
    # grids without errors keep their polygons byte for byte
    touched = {codes["a"], codes["b"], codes["c"]}
    before = broken.set_index("code").geometry
    after = out.grids.set_index("code").geometry
    for code in grid_codes:
        if code not in touched:
            assert shapely.to_wkb(after[code]) == shapely.to_wkb(before[code]), code


def test_stray_part_and_locked_grid(scene):
    area, buildings, roads, layer, crs = scene
    (a, b), grids = _neighbours(layer, crs)
    # a corner of b, far from a, drawn as a second part of a as well: overlap and a stray part
    far = [c for c in grids.index if c not in (a, b) and grids[c].distance(grids[a]) > 30][0]
    piece = grids[far].intersection(grids[far].centroid.buffer(20))
    broken = _set(layer, a, _to84(grids[a].union(piece), crs))
    kinds = set(_errors(broken, buildings, area)["kind"])
    assert {"not_contiguous", "overlap"} <= kinds, kinds
    out = repair_layer(broken, buildings, area, roads=roads, locked=[far])
    left = _errors(out.grids, buildings, area)
    assert left.empty, left[["kind", "message_en"]].to_string()
    old = layer.set_index("code")
    new = out.grids.set_index("code")
    for code in old.index[old["parent_code"].fillna(old.index.to_series()).eq(far)]:
        assert shapely.to_wkb(new.geometry[code]) == shapely.to_wkb(old.geometry[code])
    assert shapely.get_num_geometries(new.geometry[a]) == 1


def test_a_valid_layer_is_left_as_it_is(scene):
    area, buildings, roads, layer, _ = scene
    out = repair_layer(layer, buildings, area, roads=roads)
    assert out.report == {"changed": [], "redivided": [], "dropped": [], "recoded": {}}
    same = layer.sort_values("code").reset_index(drop=True)
    assert [shapely.to_wkb(g) for g in out.grids.geometry] == [
        shapely.to_wkb(g) for g in same.geometry
    ]


def test_micro_grids_that_do_not_add_up_are_drawn_anew_in_their_grid_only(scene):
    area, buildings, roads, layer, _ = scene
    broken = layer.copy()
    micro = broken.index[broken["level"] == "micro"][0]
    grid = broken.loc[micro, "parent_code"]
    broken.loc[micro, "households"] += 17  # an old layer whose records no longer add up
    assert "micro_sum_mismatch" in set(_errors(broken, buildings, area)["kind"])
    out = repair_layer(broken, buildings, area, roads=roads)
    assert _errors(out.grids, buildings, area).empty
    assert out.report["redivided"] == [grid] and out.report["changed"] == []
    before = layer[layer["parent_code"] != grid].sort_values("code").reset_index(drop=True)
    after = out.grids[out.grids["parent_code"] != grid].reset_index(drop=True)
    assert list(after["code"]) == list(before["code"])
    wkb = [shapely.to_wkb(g) for g in before.geometry]
    assert [shapely.to_wkb(g) for g in after.geometry] == wkb
    mine = out.grids[out.grids["parent_code"] == grid]
    total = out.grids.set_index("code").loc[grid, "households"]
    assert mine["households"].sum() == total


def test_bad_codes_get_the_next_free_number_and_good_ones_stay(scene):
    area, buildings, roads, layer, crs = scene
    grids = sorted(layer.loc[layer["level"] == "grid", "code"])
    broken = layer.copy()
    is_code = broken["code"].to_numpy()
    first_micro = sorted(broken.loc[broken["parent_code"] == grids[1], "code"])[0]
    broken.loc[is_code == grids[0], "code"] = None  # a grid without a code
    broken.loc[is_code == grids[2], "code"] = grids[3]  # two grids with one code
    broken.loc[is_code == first_micro, "code"] = first_micro[:-1]  # 17 digits
    codes_of = broken.loc[broken["level"] == "grid", "code"]
    kinds = set(validate_layer(broken, buildings, area)["kind"])
    assert {"code_invalid", "code_duplicate"} <= kinds
    assert codes_of.isna().sum() == 1

    out = repair_layer(broken, buildings, area, roads=roads)
    fixed = out.grids
    assert _errors(fixed, buildings, area).empty
    assert fixed["code"].is_unique and fixed["code"].notna().all()
    top = max(int(c[-3:]) for c in grids)
    new_grids = sorted(set(fixed.loc[fixed["level"] == "grid", "code"]) - set(grids))
    # the nameless grid and the false holder of grids[3] get the next numbers of the community;
    # grids[3] stays with the grid holding its micro-grids
    assert new_grids == [f"{RUIXIANG}{top + 1:03d}", f"{RUIXIANG}{top + 2:03d}"]
    assert (
        fixed.loc[fixed["code"] == grids[3], "geometry"]
        .iloc[0]
        .equals_exact(layer.loc[layer["code"] == grids[3], "geometry"].iloc[0], 1e-9)
    )
    assert out.report["recoded"][first_micro[:-1]].startswith(grids[1])
    # every good code is where it was, with the same polygon: all but the nameless grid, the
    # grid coded as another and the micro-grids of those two
    gone = {grids[0], grids[2], first_micro}
    kept = layer[~layer["code"].isin(gone) & ~layer["parent_code"].isin(gone)].set_index("code")
    after = fixed.set_index("code")
    for code in kept.index:
        assert code in after.index
        assert after.loc[code, "geometry"].equals_exact(kept.loc[code, "geometry"], 1e-9)
    # micro-grids of a renamed grid follow it
    renamed = {v for k, v in out.report["recoded"].items() if len(v) == 15}
    for code in renamed:
        children = fixed[fixed["parent_code"] == code]
        assert len(children) and children["code"].str.startswith(code).all()
