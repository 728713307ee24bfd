"""CRS helpers: UTM estimation, metric reprojection, strict CRS checks."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.crs import require_crs, to_metric, to_wgs84, utm_crs
from geo.errors import CRSMismatchError, InputError


def _nanjing(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(118.79, 32.05)], crs=crs)


def test_utm_zone_of_nanjing_is_50n():
    assert utm_crs(_nanjing()).to_epsg() == 32650


def test_utm_needs_crs_and_geometry():
    with pytest.raises(InputError, match="no CRS"):
        utm_crs(_nanjing(crs=None))
    empty = gpd.GeoDataFrame({"n": [1]}, geometry=[None], crs="EPSG:4326")
    with pytest.raises(InputError, match="no non-empty geometry"):
        utm_crs(empty)


def test_to_metric_measures_in_metres():
    utm_box = gpd.GeoSeries([shapely.box(660_000, 3_550_000, 660_020, 3_550_030)], crs=32650)
    frame = gpd.GeoDataFrame(geometry=utm_box.to_crs(4326))
    metric = to_metric(frame)
    assert metric.crs.to_epsg() == 32650
    assert metric.area.iloc[0] == pytest.approx(600.0, abs=1e-6)
    assert frame.crs.to_epsg() == 4326  # input untouched


def test_require_crs_names_both():
    frame = _nanjing().to_crs(3857)
    with pytest.raises(CRSMismatchError, match=r"buildings is in EPSG:3857, expected EPSG:4326"):
        require_crs(frame, name="buildings")
    with pytest.raises(CRSMismatchError, match="no CRS"):
        require_crs(_nanjing(crs=None))
    assert require_crs(_nanjing()) is not None
    assert require_crs(frame, "EPSG:3857") is frame


def test_to_wgs84():
    projected = _nanjing().to_crs(32650)
    back = to_wgs84(projected)
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].distance(shapely.Point(118.79, 32.05)) < 1e-9
    bare = projected.set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="no CRS"):
        to_wgs84(bare)
    assert (
        to_wgs84(bare, crs="EPSG:32650").geometry.iloc[0].distance(shapely.Point(118.79, 32.05))
        < 1e-9
    )
    with pytest.raises(CRSMismatchError, match="EPSG:32650.*EPSG:32651"):
        to_wgs84(projected, crs="EPSG:32651")
