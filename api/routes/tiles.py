"""GET /tiles/{layer}/{z}/{x}/{y}.pbf: Mapbox Vector Tiles of the map layers, from PostGIS."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import IfNoneMatch, SessionDep, not_modified
from api.storage import tiles

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
Layer = Literal["grids", "micro_grids", "buildings", "stations"]


@router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "no feature in the tile"},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
    },
)
def get_tile(
    session: SessionDep,
    layer: Layer,
    z: Annotated[int, Path(ge=0, le=tiles.MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One tile of the current grids, micro-grids, buildings or stations (layer name = `layer`).
    422 for a tile outside the zoom level's grid; 204 when no feature lies in it; 304 when the
    tile is unchanged since the ETag given in If-None-Match (browsers revalidate each time)."""
    etag, data = tiles.cached_tile(session, layer, z, x, y)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
