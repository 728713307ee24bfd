"""GET /api/grids: the grid layer as GeoJSON (current, or as it stood), and one grid's history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from api.deps import SessionDep
from api.storage import grids as store

router = APIRouter(prefix="/api/grids", tags=["grids"])

GRID_CODE = r"^[0-9]{15}([0-9]{3})?$"
COMMUNITY_CODE = r"^[0-9]{12}$"


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class GridQuery(BaseModel):
    """Which layer: a level, a community, and for history a version or a moment."""

    level: Literal["grid", "micro"] | None = Field(
        None, description="grid (网格) or micro (微网格); both levels when left out"
    )
    community: str | None = Field(
        None, pattern=COMMUNITY_CODE, description="12-digit community code"
    )
    version: int | None = Field(
        None,
        ge=1,
        description="each grid's row of this version (versions count per code); "
        "for the layer as a whole at a past moment use `at`",
    )
    at: datetime | None = Field(
        None, description="ISO 8601 moment (UTC when it has no offset): the layer valid then"
    )

    @model_validator(mode="after")
    def one_history_selector(self) -> GridQuery:
        if self.version is not None and self.at is not None:
            msg = "give either version or at, not both"
            raise ValueError(msg)
        if self.at is not None and self.at.tzinfo is None:
            self.at = self.at.replace(tzinfo=UTC)
        return self


class GridProperties(BaseModel):
    code: str
    level: Literal["grid", "micro"]
    parent_code: str | None
    households: int
    community_code: str | None
    version: int
    valid_from: datetime
    valid_to: datetime | None
    locked: bool
    members: list[tuple[str, int]] = Field(
        description="[building_id, households] pairs; a split building appears in each of its "
        "grids with its share"
    )


class GridFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict
    properties: GridProperties


class GridCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GridFeature]


class GridDetail(GridFeature):
    """The grid's current version (or its last one, when it was retired) and every version."""

    history: list[GridFeature] = Field(description="every version, oldest first")


def _feature(row: dict, *, ident: str | None = None) -> GridFeature:
    geometry = json.loads(row.pop("geometry"))
    row["members"] = row["members"] or []
    return GridFeature(id=ident or row["code"], geometry=geometry, properties=GridProperties(**row))


@router.get("", response_model=GridCollection, response_class=GeoJSONResponse)
def list_grids(session: SessionDep, query: Annotated[GridQuery, Query()]) -> GridCollection:
    """The current grid layer as a GeoJSON FeatureCollection (or a past one, with version/at)."""
    rows = store.grid_rows(
        session, level=query.level, community=query.community, version=query.version, at=query.at
    )
    return GridCollection(features=[_feature(r) for r in rows])


@router.get("/{code}", response_model=GridDetail, response_class=GeoJSONResponse)
def get_grid(
    session: SessionDep,
    code: Annotated[str, Path(pattern=GRID_CODE, description="15-digit grid or 18-digit micro")],
) -> GridDetail:
    """One grid: its current version as a Feature, with every version under `history`."""
    history = [
        _feature(r, ident=f"{r['code']}.v{r['version']}") for r in store.grid_history(session, code)
    ]
    current = next((f for f in history if f.properties.valid_to is None), history[-1])
    return GridDetail(
        id=code, geometry=current.geometry, properties=current.properties, history=history
    )
