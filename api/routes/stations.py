"""Service stations: the public list (GeoJSON), one station, its walking circle, the nearest.

Public endpoints: a station's public desk phone is shown, never a contact person.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import IfNoneMatch, SessionDep, not_modified
from api.errors import NotFoundError
from api.stations import listing
from api.stations.coverage import check_function
from api.stations.network import get_network
from api.storage import stations as store
from data.catalogs import station_types, type_defaults
from geo.coords import to_wgs84
from geo.errors import InputError
from geo.network import reach_matrix, snap_points

router = APIRouter(prefix="/api/stations", tags=["stations"])

STATION_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"
Crs = Literal["wgs84", "gcj02", "bd09"]


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class StationProperties(BaseModel):
    station_id: str
    name: str
    type: str | None
    icon: str | None = Field(description="Font Awesome 6 icon name of the type (public map)")
    functions: list[str] = Field(description="function codes: the six of 1+6+X and extras")
    stars: int | None = Field(None, ge=3, le=5)
    opening_hours: str | None
    services: str | None
    phone: str | None = Field(description="the station's public desk phone")
    address: str | None
    community_code: str | None
    community_name: str | None
    location_source: Literal["given", "geocoded"]


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]


class StationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: StationProperties


class StationCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[StationFeature]


class IsochroneProperties(BaseModel):
    station_id: str
    minutes: float
    speed_kmh: float
    method: Literal["network", "buffer"] = Field(
        description="network: buffered reached streets; buffer: a plain circle (off the network)"
    )
    source: Literal["stored", "computed"]
    computed_at: datetime | None = None


class IsochroneFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict
    properties: IsochroneProperties


class NearbyStation(BaseModel):
    station_id: str
    name: str
    type: str | None
    functions: list[str]
    minutes: float = Field(description="walking minutes, snap walks included")
    lon: float
    lat: float


class NearestResponse(BaseModel):
    lon: float = Field(description="the query point in WGS-84")
    lat: float
    on_network: bool = Field(description="False: the point is too far from any street")
    snap_m: float | None
    speed_kmh: float
    max_minutes: float
    stations: list[NearbyStation] = Field(description="nearest first")


def _feature(row: dict) -> StationFeature:
    props = {k: row[k] for k in StationProperties.model_fields if k in row}
    props["functions"] = row["functions"] or []
    props["icon"] = type_defaults(row["type"]).get("icon") if row["type"] else None
    return StationFeature(
        id=row["station_id"],
        geometry=PointGeometry(coordinates=(row["lon"], row["lat"])),
        properties=StationProperties(**props),
    )


@router.get(
    "",
    response_model=StationCollection,
    response_class=GeoJSONResponse,
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
def list_stations(
    session: SessionDep,
    type: Annotated[str | None, Query(description="station type, e.g. 邻里中心")] = None,
    function: Annotated[
        str | None, Query(description="function code, e.g. elderly_care (see the catalog)")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every station as a GeoJSON FeatureCollection, filtered by type and function (with an
    ETag; 304 when If-None-Match names the current one)."""
    if type is not None and type not in station_types()["types"]:
        known = ", ".join(station_types()["types"])
        msg = f"unknown station type {type!r}: expected one of {known}"
        raise InputError(msg)
    if function is not None:
        check_function(function)
    etag, body = listing.station_list(
        session, _collection_json, station_type=type, function=function
    )
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=GeoJSONResponse.media_type, headers=headers)


def _collection_json(rows: list[dict]) -> bytes:
    return StationCollection(features=[_feature(r) for r in rows]).model_dump_json().encode()


@router.get("/nearest", response_model=NearestResponse)
def nearest_stations(
    session: SessionDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    crs: Annotated[Crs, Query(description="datum of lon/lat")] = "wgs84",
    function: Annotated[str | None, Query(description="only stations offering it")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    max_minutes: Annotated[float, Query(gt=0, le=60)] = 30.0,
    speed_kmh: Annotated[float, Query(gt=0, le=20)] = 4.5,
) -> NearestResponse:
    """The stations nearest on foot from a point (given in WGS-84, GCJ-02 or BD-09)."""
    if function is not None:
        check_function(function)
    x, y = (float(v) for v in to_wgs84(lon, lat, crs=crs))
    rows = store.station_rows(session, function=function)
    net = get_network(session)
    point = gpd.GeoDataFrame(geometry=[shapely.Point(x, y)], crs=4326)
    snap = snap_points(net, point).iloc[0]
    found: list[NearbyStation] = []
    if rows:
        stations = gpd.GeoDataFrame(
            geometry=[shapely.Point(r["lon"], r["lat"]) for r in rows], crs=4326
        )
        reach = reach_matrix(net, point, stations, speed_kmh=speed_kmh, max_minutes=max_minutes)
        reach = reach.tocoo()
        for j in np.argsort(reach.data, kind="stable")[:limit]:
            r = rows[int(reach.col[j])]
            found.append(
                NearbyStation(
                    station_id=r["station_id"],
                    name=r["name"],
                    type=r["type"],
                    functions=r["functions"] or [],
                    minutes=round(float(reach.data[j]), 2),
                    lon=r["lon"],
                    lat=r["lat"],
                )
            )
    on = bool(snap["on_network"])
    return NearestResponse(
        lon=x,
        lat=y,
        on_network=on,
        snap_m=round(float(snap["snap_m"]), 1) if on else None,
        speed_kmh=speed_kmh,
        max_minutes=max_minutes,
        stations=found,
    )


def _station(session, station_id: str) -> dict:
    row = store.station_row(session, station_id)
    if row is None:
        msg = f"no station {station_id}"
        raise NotFoundError(msg)
    return row


StationId = Annotated[str, Path(pattern=STATION_ID, description="station_id")]


@router.get("/{station_id}", response_model=StationFeature, response_class=GeoJSONResponse)
def get_station(session: SessionDep, station_id: StationId) -> StationFeature:
    """One station as a GeoJSON Feature."""
    return _feature(_station(session, station_id))


@router.get(
    "/{station_id}/isochrone", response_model=IsochroneFeature, response_class=GeoJSONResponse
)
def get_isochrone(
    session: SessionDep,
    station_id: StationId,
    minutes: Annotated[float, Query(gt=0, le=60)] = 15.0,
    speed_kmh: Annotated[float, Query(gt=0, le=20)] = 4.5,
) -> Response:
    """The station's walking circle: the stored one when `wangge stations circles` made it,
    else computed on the cached network."""
    row = _station(session, station_id)
    ident = f"{station_id}.{minutes:g}"
    stored = store.stored_isochrone(
        session, row["id"], minutes=minutes, speed_kmh=speed_kmh, ident=ident
    )
    if stored is not None:  # the Feature as PostGIS wrote it: no decoding and re-encoding here
        return Response(content=stored, media_type=GeoJSONResponse.media_type)
    from geo.isochrones import isochrones

    net = get_network(session)
    point = gpd.GeoDataFrame(
        {"id": [station_id]}, geometry=[shapely.Point(row["lon"], row["lat"])], crs=4326
    )
    circle = isochrones(net, point, minutes=(minutes,), speed_kmh=speed_kmh, id_column="id")
    first = circle.iloc[0]
    props = IsochroneProperties(
        station_id=station_id,
        minutes=minutes,
        speed_kmh=speed_kmh,
        method=first["method"],
        source="computed",
    ).model_dump_json()
    geometry = shapely.to_geojson(first.geometry)
    text = (
        f'{{"type":"Feature","id":{json.dumps(ident)},"geometry":{geometry},"properties":{props}}}'
    )
    return Response(content=text, media_type=GeoJSONResponse.media_type)
