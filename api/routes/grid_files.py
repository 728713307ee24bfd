"""Comparing layer versions, exporting layers as files and importing files as drafts.

Compare: any two versions, or a version against a draft or a regenerated alternative (nothing
saved). Export: a stored version or a draft as GeoJSON, GeoPackage or a building → grid CSV.
Import: a file becomes a draft layer with its problems, as an edit would answer; nothing is
written until the planner saves it. The logic lives in api.grids.compare and api.grids.exchange.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Response, UploadFile
from pydantic import BaseModel, Field

from api.accounts import access
from api.deps import GridEditor, SessionDep, grid_editor
from api.grids import compare as grid_compare
from api.grids import edits as grid_edits
from api.grids import exchange
from api.routes.grid_edits import CommunityCode, EditResponse, FeatureCollectionIn, _edited
from api.routes.grids import COMMUNITY_CODE

router = APIRouter(prefix="/api/grids", tags=["grid files"], dependencies=[Depends(grid_editor)])

Version = Annotated[int | None, Field(ge=1, description="layer version; the current one if absent")]
Format = Literal["geojson", "gpkg", "csv"]


class CompareRequest(BaseModel):
    community: CommunityCode
    a: Version = None
    b: Version = None
    features: FeatureCollectionIn | None = Field(
        None, description="a draft to compare version `a` with (instead of version `b`)"
    )
    regenerate: bool = Field(
        False, description="compare version `a` with the community divided again (not saved)"
    )


class GridDelta(BaseModel):
    code: str
    level: Literal["grid", "micro"]
    name: str = Field(description="社区 + 第N网格")
    households_a: int | None
    households_b: int | None
    delta: int
    change: Literal["added", "removed", "changed", "same"]


class CompareResponse(BaseModel):
    community: str
    a: dict[str, Any] = Field(description="what the first layer is: {version, label}")
    b: dict[str, Any]
    grids: list[GridDelta]
    moved: dict[str, Any] = Field(
        description="FeatureCollection of points: building_id, households, from_code, "
        "to_code, from_name, to_name"
    )
    boundaries: dict[str, Any] = Field(
        description="FeatureCollection: per changed grid the symmetric difference of its two "
        "polygons, with code, level, name, gained_m2, lost_m2"
    )
    layers: dict[str, dict[str, Any]] = Field(description="{a, b}: both layers, both levels")


class ExportRequest(BaseModel):
    community: CommunityCode
    format: Format = "geojson"
    features: FeatureCollectionIn


def _compared(result: grid_compare.Comparison, a: int | None, b: dict[str, Any]) -> CompareResponse:
    def collection(frame, columns) -> dict:
        return grid_edits.feature_collection(frame, columns)

    layer = ("code", "level", "parent_code", "households", "members")
    return CompareResponse(
        community=result.community,
        a={"version": a, "label": f"v{a}" if a else "current"},
        b=b,
        grids=result.grids,
        moved=collection(result.moved, result.moved.columns.drop("geometry")),
        boundaries=collection(result.boundaries, result.boundaries.columns.drop("geometry")),
        layers={"a": collection(result.a, layer), "b": collection(result.b, layer)},
    )


@router.get("/compare", response_model=CompareResponse)
def compare_versions(
    session: SessionDep,
    user: GridEditor,
    community: Annotated[str, Query(pattern=COMMUNITY_CODE, description="community code")],
    a: Annotated[int, Query(ge=1, description="the earlier version")],
    b: Annotated[int | None, Query(ge=1, description="the later one; current if absent")] = None,
) -> CompareResponse:
    """Version `a` against version `b`: household deltas, moved buildings, changed boundaries."""
    access.check_community(session, user, community)
    result = grid_compare.compare(session, community, a=a, b=b)
    return _compared(result, a, {"version": b, "label": f"v{b}" if b else "current"})


@router.post("/compare", response_model=CompareResponse)
def compare_layers(session: SessionDep, user: GridEditor, body: CompareRequest) -> CompareResponse:
    """Version `a` against version `b`, a draft (`features`) or a regenerated alternative."""
    access.check_community(session, user, body.community)
    features = body.features.dicts() if body.features else None
    result = grid_compare.compare(
        session, body.community, a=body.a, b=body.b, features=features, regenerate=body.regenerate
    )
    label = "draft" if features else "regenerated" if body.regenerate else None
    b = {
        "version": None if label else body.b,
        "label": label or (f"v{body.b}" if body.b else "current"),
    }
    return _compared(result, body.a, b)


def _file(export: exchange.Export) -> Response:
    headers = {"Content-Disposition": export.disposition}
    return Response(export.content, media_type=export.media_type, headers=headers)


FILE_RESPONSES = {200: {"content": {t: {} for t, _ in exchange.FORMATS.values()}}}


@router.get("/export", response_class=Response, responses=FILE_RESPONSES)
def export_version(
    session: SessionDep,
    user: GridEditor,
    community: Annotated[str, Query(pattern=COMMUNITY_CODE, description="community code")],
    format: Format = "geojson",
    version: Annotated[int | None, Query(ge=1, description="current if absent")] = None,
) -> Response:
    """A stored layer as a GeoJSON, GeoPackage or building → grid CSV download."""
    access.check_community(session, user, community)
    return _file(exchange.export_layer(session, community, fmt=format, version=version))


@router.post("/export", response_class=Response, responses=FILE_RESPONSES)
def export_draft(session: SessionDep, user: GridEditor, body: ExportRequest) -> Response:
    """A draft (the features sent, recounted) as a download."""
    access.check_community(session, user, body.community)
    features = body.features.dicts()
    return _file(exchange.export_layer(session, body.community, fmt=body.format, features=features))


@router.post("/import", response_model=EditResponse)
def import_file(
    session: SessionDep,
    user: GridEditor,
    community: Annotated[str, Form(pattern=COMMUNITY_CODE)],
    file: UploadFile,
) -> EditResponse:
    """A GeoJSON, GeoPackage or building → grid CSV as a draft layer with its problems.

    Nothing is saved: the page shows the draft for editing and /api/grids/save stores it.
    413 over the size limit, 422 with the reason for a file that cannot be read.
    """
    access.check_community(session, user, community)
    content = file.file.read(exchange.MAX_IMPORT_BYTES + 1)
    if len(content) > exchange.MAX_IMPORT_BYTES:
        limit = exchange.MAX_IMPORT_BYTES // 2**20
        detail = f"文件超过 {limit} MB 的上限 (the file is larger than {limit} MB)"
        raise HTTPException(413, detail)
    result = exchange.import_draft(session, community, file.filename or "", content)
    return _edited(result)
