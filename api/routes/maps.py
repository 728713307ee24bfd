"""The three map pages: /map/planner, /map/worker, /map/public (HTML built by maps/)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.deps import SessionDep, SettingsDep
from api.errors import NotFoundError
from api.routes.grids import COMMUNITY_CODE, GeoJSONResponse
from api.storage import map_data
from data.catalogs import function_names, station_types
from geo.grids.edit.messages import short_community
from maps import build_planner_map, build_public_map, build_worker_map
from maps.assets import STATIC_DIR, STATIC_URL
from maps.messages import language

router = APIRouter(prefix="/map", tags=["maps"])

STREET_CODE = r"^[0-9]{9}$"
DISTRICT_CODE = r"^[0-9]{6}$"
MAP_LAYERS = ("grids", "micro_grids", "buildings")
LEVELS = (("grid", "grids"), ("micro", "micro_grids"))
MapLayer = Literal["grids", "micro_grids", "buildings"]
Render = Literal["auto", "inline", "tiles"]
RENDER_HELP = "inline GeoJSON, vector tiles, or auto: tiles for layers above the threshold"
Lang = Annotated[str, Query(description="zh (default) or en")]


def mount_static(app) -> None:
    """Serve maps/static (the pages' scripts, CSS and the npm-installed Leaflet) at /static/maps."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="maps-static")


def _vector(render: str, counts: dict[str, int], threshold: int) -> set[str]:
    if render == "inline":
        return set()
    if render == "tiles":
        return set(counts)
    return {layer for layer, n in counts.items() if n > threshold}


def _html(m) -> HTMLResponse:
    return HTMLResponse(m.get_root().render())


@router.get("/planner", response_class=HTMLResponse)
def planner_page(
    session: SessionDep,
    settings: SettingsDep,
    street: Annotated[str | None, Query(pattern=STREET_CODE, description="street office")] = None,
    community: Annotated[str | None, Query(pattern=COMMUNITY_CODE)] = None,
    district: Annotated[
        str | None, Query(pattern=DISTRICT_CODE, description="every community of a district")
    ] = None,
    lang: Lang = "zh",
    render: Annotated[Render, Query(description=RENDER_HELP)] = "auto",
    layers: Annotated[
        list[MapLayer] | None, Query(description="layers to show (all three by default)")
    ] = None,
) -> HTMLResponse:
    """The planner's grid editor for a community (the first one by default), a street office
    or a whole district."""
    areas = map_data.areas(session)
    if not (street or community or district) and areas:
        community = areas[0]["code"]
    if district:
        codes = [a["code"] for a in areas if a["code"].startswith(district)]
        if not codes:
            msg = f"unknown district code {district}, or a district without communities"
            raise NotFoundError(msg)
    else:
        codes = map_data.communities_of(session, street=street, community=community)
    if community and not street:
        street = next((a["street_code"] for a in areas if a["code"] == community), None)
    shown = set(layers or MAP_LAYERS)
    counts = {
        "grids": map_data.count_grids(session, codes, "grid"),
        "micro_grids": map_data.count_grids(session, codes, "micro"),
        "buildings": map_data.count_buildings(session, codes),
    }
    counts = {k: v for k, v in counts.items() if k in shown}
    vector = _vector(render, counts, settings.map_vector_threshold)
    inline = [lv for lv, layer in LEVELS if layer in shown and layer not in vector]
    grids = map_data.grids(
        session, codes if inline else [], inline[0] if len(inline) == 1 else None
    )
    inline_buildings = "buildings" in shown and "buildings" not in vector
    m = build_planner_map(
        grids,
        map_data.buildings(session, codes) if inline_buildings else None,
        map_data.barriers(session, codes),
        areas=areas,
        bounds=map_data.extent(session, codes),
        selected={"street": street, "community": community},
        workers=map_data.workers_by_grid(session, map_data.grid_codes(session, codes)),
        layers=shown,
        outlines=map_data.outlines(session, codes),
        vector_tiles=vector,
        lang=language(lang),
        tiles=settings.tile_url,
        attribution=settings.tile_attribution,
    )
    return _html(m)


@router.get("/communities", response_class=GeoJSONResponse)
def communities_geojson(
    session: SessionDep,
    street: Annotated[str | None, Query(pattern=STREET_CODE, description="street office")] = None,
) -> GeoJSONResponse:
    """Community outlines as GeoJSON (every one, or a street office's): code, name,
    street_code, street_name, boundary_source ('official' or 'approximate': derived where none
    is published) and street_boundary_source. 404 for an unknown street code."""
    codes = map_data.communities_of(session, street=street, community=None)
    frame = map_data.outlines(session, codes)
    return GeoJSONResponse(json.loads(frame.to_json(drop_id=True, to_wgs84=False)))


@router.get("/public", response_class=HTMLResponse)
def public_page(session: SessionDep, settings: SettingsDep, lang: Lang = "zh") -> HTMLResponse:
    """The public neighborhood-center map: stations, functions, walking circles, search."""
    catalog = station_types()
    types = {
        name: {"icon": spec.get("icon"), "en": spec.get("en")}
        for name, spec in catalog["types"].items()
    }
    m = build_public_map(
        map_data.stations(session),
        types=types,
        functions=catalog["functions"],
        labels=function_names(),
        lang=language(lang),
        tiles=settings.tile_url,
        attribution=settings.tile_attribution,
    )
    return _html(m)


@router.get("/worker", response_class=HTMLResponse)
def worker_page(session: SessionDep, settings: SettingsDep, lang: Lang = "zh") -> HTMLResponse:
    """The grid worker's page; their grids and cases load after sign-in (no data in the page)."""
    codes = map_data.communities_of(session, street=None, community=None)
    names = {a["code"]: short_community(a["name"]) for a in map_data.areas(session)}
    m = build_worker_map(
        bounds=map_data.extent(session, codes),
        communities=names,
        lang=language(lang),
        tiles=settings.tile_url,
        attribution=settings.tile_attribution,
    )
    return _html(m)
