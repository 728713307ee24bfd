"""The folium builders on small frames: local assets only, layers, legends, tiles, and no
private column reaching the public page."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from maps import build_planner_map, build_public_map, build_worker_map
from maps.assets import localize
from maps.hours import readable_hours
from maps.planner import bound_status

CDN = re.compile(r"https?://(?!tile\.openstreetmap\.org)[^\"' ]+\.(js|css)")


def html(m) -> str:
    """The rendered page, with JSON's \\uXXXX escapes decoded so that text can be searched."""
    page = m.get_root().render()
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), page)


@pytest.fixture
def grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["990101001001001", "990101001001002", "990101001001001001"],
            "level": ["grid", "grid", "micro"],
            "parent_code": [None, None, "990101001001001"],
            "households": [250, 420, 45],
            "community_code": ["990101001001"] * 3,
            "locked": [False, True, False],
        },
        geometry=[box(118.80, 32.00, 118.81, 32.01), box(118.81, 32.00, 118.82, 32.01),
                  box(118.80, 32.00, 118.805, 32.005)],
        crs=4326,
    )  # fmt: skip


def test_planner_page_has_only_local_assets_and_every_layer(grids):
    buildings = gpd.GeoDataFrame(
        {"building_id": ["B1"], "households": [45]}, geometry=[Point(118.801, 32.001)], crs=4326
    )
    page = html(build_planner_map(grids, buildings, None, lang="zh", tiles="none"))
    assert not CDN.search(page), CDN.search(page)
    for path in ("leaflet/dist/leaflet.js", "leaflet-draw/dist/leaflet.draw.js", "planner.js"):
        assert "/static/maps/" in page and path in page
    assert "990101001001002" in page and 'wangge.start("planner"' in page
    assert "户数不足" in page and "已锁定" in page  # legend
    assert "control_scale" in page or "L.control.scale" in page
    assert "tile.openstreetmap.org" not in page  # tiles none: plain background


def test_planner_page_in_english_with_base_tiles_and_vector_tiles(grids):
    m = build_planner_map(
        grids[grids["level"] == "grid"],
        vector_tiles={"micro_grids", "buildings"},
        lang="en",
        tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution="© OpenStreetMap contributors",
    )
    page = html(m)
    assert "/tiles/micro_grids/{z}/{x}/{y}.pbf" in page and "/tiles/buildings/" in page
    assert "/tiles/grids/" not in page
    assert "Leaflet.VectorGrid.bundled.min.js" in page and not CDN.search(page)
    assert "Too few households" in page and "tile.openstreetmap.org" in page


def test_planner_rejects_unknown_tile_layers_and_other_crs(grids):
    with pytest.raises(ValueError, match="no vector tiles for layer"):
        build_planner_map(grids, vector_tiles={"roads"})
    with pytest.raises(ValueError, match="EPSG:4326"):
        build_planner_map(grids.to_crs(32650))


def test_bound_status_against_the_level_bounds():
    assert bound_status(299, "grid") == "under" and bound_status(300, "grid") == "within"
    assert bound_status(501, "grid") == "over" and bound_status(50, "micro") == "within"
    assert bound_status(51, "micro") == "over"


def test_public_page_drops_private_columns():
    stations = gpd.GeoDataFrame(
        {
            "station_id": ["S1"],
            "name": ["瑞祥社区党群服务中心"],
            "type": ["党群服务中心"],
            "functions": [["services", "elderly_care"]],
            "stars": [4],
            "opening_hours": ["Mo-Fr 08:30-17:30"],
            "contact": ["张三 13800000000"],
            "reporter_phone": ["13900000000"],
        },
        geometry=[Point(118.8, 32.0)],
        crs=4326,
    )
    page = html(
        build_public_map(
            stations,
            types={"党群服务中心": {"icon": "landmark-flag", "en": "Party-masses service center"}},
            functions={"services": "事有所办", "elderly_care": "老有所养"},
        )
    )
    assert "瑞祥社区党群服务中心" in page and "fa-landmark-flag" in page and "★★★★" in page
    assert "张三" not in page and "13800000000" not in page and "13900000000" not in page
    assert not CDN.search(page)


def test_worker_page_is_a_shell_without_data():
    page = html(build_worker_map(bounds=[[32.0, 118.8], [32.01, 118.82]], lang="en"))
    assert "worker.js" in page and "Sign in" in page and not CDN.search(page)


def test_localize_refuses_an_asset_without_a_local_copy():
    import folium
    from folium.plugins import MarkerCluster

    m = folium.Map(tiles=None)
    MarkerCluster().add_to(m)
    with pytest.raises(ValueError, match="no local copy"):
        localize(m)


def test_every_station_function_has_english_text():
    from data.catalogs import function_names
    from maps.messages import TEXT

    missing = [code for code in function_names() if f"function.{code}" not in TEXT["en"]]
    assert missing == []


def test_public_page_reads_opening_hours_in_chinese():
    stations = gpd.GeoDataFrame(
        {"station_id": ["S1"], "name": ["北门桥社区居委会"], "type": ["党群服务中心"],
         "opening_hours": ["Mo-Fr 08:30-17:30; Sa 09:00-12:00"]},
        geometry=[Point(118.8, 32.0)],
        crs=4326,
    )  # fmt: skip
    kinds = {"党群服务中心": {"icon": "landmark-flag", "en": "Party-masses service center"}}
    zh = html(build_public_map(stations, types=kinds, functions={}))
    assert "周一至周五 08:30–17:30；周六 09:00–12:00" in zh and "Mo-Fr" not in zh
    en = html(build_public_map(stations, types=kinds, functions={}, lang="en"))
    assert "Mo-Fr 08:30-17:30; Sa 09:00-12:00" in en


def test_opening_hours_keep_what_they_do_not_know():
    assert readable_hours("Mo,We,Fr 09:00-11:30,14:00-17:00; PH off") == (
        "周一、周三、周五 09:00–11:30、14:00–17:00；节假日 休息"
    )
    assert readable_hours("24/7") == "全天开放"
    assert readable_hours("by appointment") == "by appointment"
    assert readable_hours(None) is None
