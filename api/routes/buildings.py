"""GET /api/buildings: buildings of a community as GeoJSON points with household counts (no
personal data), for the map pages' selections."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

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


class BuildingDetail(BaseModel):
    """A building as its popup shows it; households_source is register, given or estimated."""

    building_id: str
    title: str  # the name, else the address, else 未命名楼栋（kind）: never the id
    name: str | None
    address: str | None
    building_type: str | None
    floors: int | None
    units: int | None
    households: int
    households_source: str
    households_rule: str | None
    community_code: str | None
    community_name: str | None


@router.get("/{building_id}", response_model=BuildingDetail)
def get_building(
    session: SessionDep,
    building_id: Annotated[str, Path(min_length=1, max_length=200)],
) -> BuildingDetail:
    """One building with where its households come from and, for an estimate, the rule that
    decided it. 404 for an unknown building."""
    return BuildingDetail(**map_data.building_detail(session, building_id))
