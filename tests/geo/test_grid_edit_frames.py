"""Small frames without pandas overhead give what the frame operations gave: reprojection as
GeoSeries.to_crs does it, and the problem frame as sorted and typed before (issue 16, speed)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import WGS84, utm_crs
from geo.grids.edit import move_buildings, validate
from geo.grids.edit.geometry import reprojected
from tests.geo.demo_scene import demo_city, scene
from tests.geo.test_grid_edit_memo import broken
from tests.geo.test_grid_edit_moves import edge_move

STREET_COMMUNITY = "990101001005"


def frame_as_before(rows: list[dict], crs) -> gpd.GeoDataFrame:
    """validate._problem_frame as it was (pandas sort, astype and where on the whole frame)."""
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(WGS84)
    rank = {k: i for i, k in enumerate(validate.PROBLEM_KINDS)}
    frame["_s"] = (frame["severity"] != "error").astype(int)
    frame["_k"] = frame["kind"].map(rank)
    frame["_c"] = frame["code"].fillna("")
    frame = frame.sort_values(["_s", "_k", "_c"], kind="stable").drop(columns=["_s", "_k", "_c"])
    frame = frame.astype({c: object for c in ("code", "other_code")})
    frame = frame.where(frame.notna(), None)
    return frame.reset_index(drop=True)


def assert_identical(new: gpd.GeoDataFrame, old: gpd.GeoDataFrame) -> None:
    assert new.crs == old.crs
    pd.testing.assert_frame_equal(pd.DataFrame(new.drop(columns="geometry")),
                                  pd.DataFrame(old.drop(columns="geometry")))  # fmt: skip
    for column in ("code", "other_code"):
        assert [type(v) for v in new[column]] == [type(v) for v in old[column]]
    wkb = shapely.to_wkb
    assert list(wkb(new.geometry.to_numpy())) == list(wkb(old.geometry.to_numpy()))


@pytest.fixture(scope="module")
def street():
    area, buildings, layer = scene([STREET_COMMUNITY])
    return area, buildings, layer, demo_city().roads


def test_reprojected_is_to_crs(street):
    area, _, layer, _ = street
    crs = utm_crs(area)
    polygons = layer.geometry.to_numpy()
    odd = [None, shapely.Polygon(), shapely.Point(118.8, 31.9, 12.5), polygons[0].boundary,
           shapely.MultiPolygon([polygons[0], polygons[1]])]  # fmt: skip
    geoms84 = np.concatenate([polygons, np.asarray(odd, dtype=object)])
    metric = gpd.GeoSeries(geoms84, crs=WGS84).to_crs(crs).to_numpy()
    back = gpd.GeoSeries(metric, crs=crs).to_crs(WGS84).to_numpy()
    for got, want in ((reprojected(geoms84, WGS84, crs), metric),
                      (reprojected(metric, crs, WGS84), back)):  # fmt: skip
        assert got[len(polygons)] is None
        assert list(shapely.to_wkb(got)) == list(shapely.to_wkb(want))
        assert shapely.has_z(got[len(polygons) + 2])
    assert len(reprojected([], crs, WGS84)) == 0
    # only flat or only 3-D geometries, and the CRS given as text, EPSG number or parameters
    flat, raised = geoms84[: len(polygons)], np.asarray(odd[2:3], dtype=object)
    for given, source in ((flat, 4326), (raised, {"proj": "longlat", "datum": "WGS84"})):
        want = gpd.GeoSeries(given, crs=WGS84).to_crs(crs).to_numpy()
        got = reprojected(given, source, crs.to_epsg())
        assert list(shapely.to_wkb(got)) == list(shapely.to_wkb(want))


def test_problem_frame_as_before(monkeypatch, street):
    area, buildings, layer, roads = street
    seen: list[tuple[list[dict], object]] = []
    built = validate._problem_frame

    def kept(rows, crs):
        seen.append(([dict(r) for r in rows], crs))
        return built(rows, crs)

    monkeypatch.setattr(validate, "_problem_frame", kept)
    rng = np.random.default_rng(7)
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    drafts = [layer] + [draft for _, draft in broken(layer, rng)]
    for building, _, target in [edge_move(layer, points, rng) for _ in range(4)]:
        try:
            drafts.append(move_buildings(layer, buildings, area, [building], to_code=target,
                                         roads=roads))  # fmt: skip
        except Exception:  # noqa: BLE001 - a refused move is not a draft
            continue
    for draft in drafts:
        validate.validate_layer(draft, buildings, area)
    rows, crs = seen[-1]
    # what the checks above may not give: missing code, side and place, an unknown kind
    bare = dict(rows[0], kind="gap", severity="error", code=None, other_code=np.nan, side=None)
    bare["geometry"] = None
    unknown = dict(rows[0], kind="new_kind", severity="warning", code=None)
    seen.append((rows + [bare, unknown], crs))
    kinds = {row["kind"] for rows, _ in seen for row in rows}
    assert {"gap", "overlap", "households_out_of_bounds"} <= kinds
    assert len(seen) >= 5
    for rows, crs in seen:
        assert_identical(built(rows, crs), frame_as_before(rows, crs))
