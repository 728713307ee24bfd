"""GET /api/buildings: buildings of a community as GeoJSON points with household counts (no
personal data), for the map pages' selections."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.routes.grids import COMMUNITY_CODE, GeoJSONResponse
from api.storage import map_data

router = APIRouter(prefix="/api/buildings", tags=["buildings"])


@router.get("", response_class=GeoJSONResponse)
def list_buildings(
    session: SessionDep,
    community: Annotated[str, Query(pattern=COMMUNITY_CODE, description="12-digit community code")],
) -> GeoJSONResponse:
    """The community's buildings (location points): building_id, households, name, address,
    floors. 404 for an unknown community."""
    codes = map_data.communities_of(session, street=None, community=community)
    frame = map_data.buildings(session, codes, points=True)
    data = json.loads(frame.to_json(drop_id=True, to_wgs84=False))
    return GeoJSONResponse(data)
