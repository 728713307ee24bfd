"""Redrawing grids: validate and save edited layers, move buildings, lock, regenerate, split,
merge, history and undo. One router, so that a later role check can guard all of it at once.

Every edit answers with the community's whole resulting layer and its problems; with
``save: true`` (always, for /save and /undo) the layer is stored as the next layer version and
the previous one kept as history. The logic lives in api.grids.edits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api import validation
from api.accounts import access, audit
from api.deps import GridEditor, SessionDep, grid_editor
from api.grids import answers
from api.grids import edits as grid_edits
from api.routes.grids import COMMUNITY_CODE, GRID_CODE
from api.validation import Identifier

# planners and admins; street and community admins within their area (api.accounts.access)
router = APIRouter(
    prefix="/api/grids",
    tags=["grid editing"],
    dependencies=[Depends(grid_editor)],
)

CommunityCode = Annotated[str, Field(pattern=COMMUNITY_CODE, description="12-digit community code")]
GridCode = Annotated[str, Field(pattern=GRID_CODE, description="15-digit grid or 18-digit micro")]
BaseVersion = Annotated[
    int | None,
    Field(
        ge=0,
        description="the layer version the edit was made on; when another save came in "
        "between, the request fails with 409 and nothing is written",
    ),
]


# -- requests ---------------------------------------------------------------------------------


class FeatureIn(BaseModel):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None = None


class FeatureCollectionIn(BaseModel):
    """The edited layer: Polygon features with properties `code`, `level`, `parent_code` and
    optionally `members` (other properties are ignored; households are recounted)."""

    type: Literal["FeatureCollection"]
    features: list[FeatureIn] = Field(min_length=1)
    crs: dict[str, Any] | str | None = Field(
        None, description="optional (GeoJSON 2008); only WGS-84 lon/lat (CRS84, EPSG:4326)"
    )

    @field_validator("crs")
    @classmethod
    def _wgs84_only(cls, crs: dict | str | None) -> dict | str | None:
        validation.check_crs(crs)
        return crs

    def dicts(self) -> list[dict]:
        return [f.model_dump() for f in self.features]


class ValidateRequest(BaseModel):
    community: CommunityCode
    features: FeatureCollectionIn


class SaveRequest(ValidateRequest):
    base_version: BaseVersion = None


class EditRequest(BaseModel):
    community: CommunityCode
    save: bool = Field(False, description="store the result as the next layer version")
    base_version: BaseVersion = None


class LayerEditRequest(EditRequest):
    features: FeatureCollectionIn | None = Field(
        None, description="the layer to edit (unsaved edits); the stored current layer if left out"
    )

    def feature_dicts(self) -> list[dict] | None:
        return None if self.features is None else self.features.dicts()


class MoveRequest(LayerEditRequest):
    building_ids: list[Identifier] = Field(min_length=1, max_length=10_000)
    to_code: GridCode


Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
LonLat = tuple[Longitude, Latitude]


class HandlesRequest(BaseModel):
    community: CommunityCode
    level: Literal["grid", "micro"] = "grid"
    features: FeatureCollectionIn | None = Field(
        None, description="the draft layer; the stored current layer if left out"
    )
    codes: list[GridCode] | None = Field(
        None, max_length=10_000, description="only the handles on these grids"
    )

    def feature_dicts(self) -> list[dict] | None:
        return None if self.features is None else self.features.dicts()


class Handle(BaseModel):
    lon: float
    lat: float
    codes: list[str] = Field(description="the polygons of that level sharing this corner")
    kind: Literal["junction", "corner", "boundary"] = Field(
        description="junction: three or more meet; corner: of a shared edge; boundary: on the "
        "community boundary (grid level) or a grid edge (micro level), slides along it"
    )


class HandlesResponse(BaseModel):
    handles: list[Handle]


class ReshapeRequest(LayerEditRequest):
    model_config = ConfigDict(populate_by_name=True)

    level: Literal["grid", "micro"] = "grid"
    corner: LonLat = Field(alias="from", description="a handle, [lon, lat]")
    to: LonLat = Field(description="where the handle goes, [lon, lat]")


class RegenerateRequest(EditRequest):
    level: Literal["grid", "micro", "both"] = "both"


class SplitRequest(LayerEditRequest):
    code: GridCode
    parts: int = Field(2, ge=2, le=50)


class MergeRequest(LayerEditRequest):
    codes: list[GridCode] = Field(min_length=2)


class LockRequest(BaseModel):
    codes: list[GridCode] = Field(min_length=1)


class UndoRequest(BaseModel):
    community: CommunityCode
    base_version: BaseVersion = None


# -- responses --------------------------------------------------------------------------------


class ProblemProperties(BaseModel):
    kind: str = Field(description="one of geo.grids.edit.PROBLEM_KINDS, or locked_changed")
    severity: Literal["error", "warning"]
    level: Literal["grid", "micro"] | None
    code: str | None
    other_code: str | None
    message: str = Field(description="Chinese, naming grids as people do (瑞祥社区第3网格)")
    message_en: str | None = Field(None, description="the same in English, with codes")
    side: Literal["under", "over"] | None = Field(
        None, description="households_out_of_bounds: below the minimum or above the maximum"
    )


class ProblemFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = Field(description="where the problem is")
    properties: ProblemProperties


class ProblemCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ProblemFeature]


class LayerProperties(BaseModel):
    code: str
    level: Literal["grid", "micro"]
    parent_code: str | None
    households: int
    members: list[tuple[str, int]]
    locked: bool


class LayerFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] | None
    properties: LayerProperties


class LayerCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[LayerFeature]


class ValidateResponse(BaseModel):
    community: str
    ok: bool = Field(description="no errors: a save would accept the layer")
    version: int = Field(description="the community's current layer version")
    problems: ProblemCollection


class EditResponse(BaseModel):
    community: str
    ok: bool = Field(description="the resulting layer has no errors")
    saved: bool
    version: int = Field(description="the new layer version when saved, else the one edited")
    layer: LayerCollection = Field(description="the community's whole layer, both levels")
    problems: ProblemCollection
    report: dict[str, Any] = Field(description="what the edit did (engine report, new codes …)")


class LockResponse(BaseModel):
    codes: list[str]
    locked: bool
    changed: int = Field(description="rows whose flag changed")


class VersionOut(BaseModel):
    version: int
    valid_from: datetime
    valid_to: datetime | None
    current: bool
    grids: int
    micro_grids: int
    households: int
    actor: str | None = Field(None, description="who saved this version (audit log)")
    action: str | None = Field(
        None, description="how it was made: grids.generate, grids.move, grids.save, …"
    )


class HistoryResponse(BaseModel):
    community: str
    current_version: int
    versions: list[VersionOut] = Field(description="oldest first")


def _problems(result: grid_edits.EditResult) -> ProblemCollection:
    return ProblemCollection.model_validate(
        grid_edits.feature_collection(result.problems, grid_edits.PROBLEM_PROPERTIES)
    )


def _edited(result: grid_edits.EditResult) -> Response:
    """The EditResponse, written directly as JSON (api.grids.answers: no second pass)."""
    return Response(answers.edit_answer(result), media_type="application/json")


def _audited(
    session: SessionDep, user: GridEditor, action: str, result: grid_edits.EditResult
) -> Response:
    """The response; a saved edit also writes an audit row with the versions before and after."""
    if result.saved:
        layer = result.layer
        after = {
            "version": result.version,
            "grids": int((layer["level"] == "grid").sum()),
            "micro_grids": int((layer["level"] == "micro").sum()),
            "households": int(layer.loc[layer["level"] == "grid", "households"].sum()),
        }
        detail = {"before": {"version": result.version - 1}, "after": after}
        audit.record(session, user, action, "grids", result.community, detail | result.report)
    return _edited(result)


# -- endpoints --------------------------------------------------------------------------------


@router.post("/validate", response_model=ValidateResponse)
def validate_layer(
    session: SessionDep, user: GridEditor, body: ValidateRequest
) -> ValidateResponse:
    """Check an edited layer against the community's stored buildings and polygon.

    Households are recounted first, as a save would do, so `ok` says whether /save would
    accept the layer. Malformed GeoJSON, non-polygon geometries or out-of-range coordinates
    are a 422.
    """
    access.check_community(session, user, body.community)
    result = grid_edits.validate(session, body.community, body.features.dicts())
    return ValidateResponse(
        community=result.community, ok=result.ok, version=result.version, problems=_problems(result)
    )


@router.post("/save", response_model=EditResponse)
def save_layer(session: SessionDep, user: GridEditor, body: SaveRequest) -> Response:
    """Store an edited layer, recounted, as the community's next version.

    422 with `problems` when it has errors; 409 when `base_version` is stale or a locked grid
    would change. Nothing is written then.
    """
    access.check_community(session, user, body.community)
    result = grid_edits.save(
        session, body.community, body.features.dicts(), base_version=body.base_version
    )
    return _audited(session, user, "grids.save", result)


@router.post("/move", response_model=EditResponse)
def move_buildings(session: SessionDep, user: GridEditor, body: MoveRequest) -> Response:
    """Hand buildings, with their land, to the grid (or micro-grid) `to_code`."""
    access.check_community(session, user, body.community)
    result = grid_edits.move(
        session,
        body.community,
        body.building_ids,
        body.to_code,
        features=body.feature_dicts(),
        save=body.save,
        base_version=body.base_version,
    )
    return _audited(session, user, "grids.move", result)


@router.post("/handles", response_model=HandlesResponse)
def boundary_handles(
    session: SessionDep, user: GridEditor, body: HandlesRequest
) -> HandlesResponse:
    """The corners a planner may drag: junctions, corners of shared edges, boundary points."""
    access.check_community(session, user, body.community)
    found = grid_edits.handles(
        session, body.community, level=body.level, features=body.feature_dicts(), codes=body.codes
    )
    return HandlesResponse(handles=[Handle(**h) for h in found])


@router.post("/reshape", response_model=EditResponse)
def reshape_boundary(session: SessionDep, user: GridEditor, body: ReshapeRequest) -> Response:
    """Drag a handle `from` → `to`: shared edges move as one, buildings and tallies follow.

    422 with a reason when the drag would cross an edge, leave the boundary or change a locked
    grid; nothing changes then.
    """
    access.check_community(session, user, body.community)
    result = grid_edits.reshape(
        session,
        body.community,
        level=body.level,
        corner=body.corner,
        to=body.to,
        features=body.feature_dicts(),
        save=body.save,
        base_version=body.base_version,
    )
    return _audited(session, user, "grids.reshape", result)


@router.post("/lock", response_model=LockResponse)
def lock_grids(session: SessionDep, user: GridEditor, body: LockRequest) -> LockResponse:
    """Lock grids: regeneration keeps them, and edits that would change them are refused.

    Sets `locked` on the current rows in place; no new layer version is made.
    """
    access.check_grid_codes(session, user, body.codes)
    changed = grid_edits.set_locked(session, body.codes, locked=True)
    _audit_locks(session, user, body.codes, locked=True, changed=changed)
    return LockResponse(codes=sorted(set(body.codes)), locked=True, changed=changed)


@router.post("/unlock", response_model=LockResponse)
def unlock_grids(session: SessionDep, user: GridEditor, body: LockRequest) -> LockResponse:
    """Unlock grids. Sets `locked` on the current rows in place; no new layer version is made."""
    access.check_grid_codes(session, user, body.codes)
    changed = grid_edits.set_locked(session, body.codes, locked=False)
    _audit_locks(session, user, body.codes, locked=False, changed=changed)
    return LockResponse(codes=sorted(set(body.codes)), locked=False, changed=changed)


@router.post("/regenerate", response_model=EditResponse)
def regenerate_layer(session: SessionDep, user: GridEditor, body: RegenerateRequest) -> Response:
    """Divide the community again, keeping its locked grids (and their micro-grids) as stored."""
    access.check_community(session, user, body.community)
    result = grid_edits.regenerate(
        session, body.community, level=body.level, save=body.save, base_version=body.base_version
    )
    return _audited(session, user, "grids.regenerate", result)


@router.post("/split", response_model=EditResponse)
def split_grid(session: SessionDep, user: GridEditor, body: SplitRequest) -> Response:
    """Divide one grid (or micro-grid) into `parts` of about equal households."""
    access.check_community(session, user, body.community)
    result = grid_edits.split(
        session,
        body.community,
        body.code,
        parts=body.parts,
        features=body.feature_dicts(),
        save=body.save,
        base_version=body.base_version,
    )
    return _audited(session, user, "grids.split", result)


@router.post("/merge", response_model=EditResponse)
def merge_grids(session: SessionDep, user: GridEditor, body: MergeRequest) -> Response:
    """Join neighbouring grids (or micro-grids of one grid) into the one with the lowest code."""
    access.check_community(session, user, body.community)
    result = grid_edits.merge(
        session,
        body.community,
        body.codes,
        features=body.feature_dicts(),
        save=body.save,
        base_version=body.base_version,
    )
    return _audited(session, user, "grids.merge", result)


@router.post("/repair", response_model=EditResponse)
def repair_layer(session: SessionDep, user: GridEditor, body: LayerEditRequest) -> Response:
    """Bring the layer (the draft sent, else the stored one) back to one without errors:
    overlaps, gaps, stray parts, micro-grids outside their grid or not adding up, missing,
    malformed or clashing codes (given the next free number). Good codes and locked grids are
    kept; only polygons with errors change."""
    access.check_community(session, user, body.community)
    result = grid_edits.repair(
        session,
        body.community,
        features=body.feature_dicts(),
        save=body.save,
        base_version=body.base_version,
    )
    return _audited(session, user, "grids.repair", result)


@router.get("/history", response_model=HistoryResponse)
def layer_history(
    session: SessionDep,
    user: GridEditor,
    community: Annotated[str, Query(pattern=COMMUNITY_CODE, description="community code")],
) -> HistoryResponse:
    """Every version of the community's layer with its time span and counts, oldest first."""
    access.check_community(session, user, community)
    versions = grid_edits.history(session, community)
    authors = audit.layer_authors(session, community)
    return HistoryResponse(
        community=community,
        current_version=len(versions),
        versions=[
            VersionOut(
                version=v.version,
                valid_from=v.valid_from,
                valid_to=v.valid_to,
                current=v.valid_to is None,
                grids=v.grids,
                micro_grids=v.micro_grids,
                households=v.households,
                actor=authors.get(v.version, (None, None))[0],
                action=authors.get(v.version, (None, None))[1],
            )
            for v in versions
        ],
    )


@router.post("/undo", response_model=EditResponse)
def undo_layer(session: SessionDep, user: GridEditor, body: UndoRequest) -> Response:
    """Make the previous version current again, stored as a new version (history is kept)."""
    access.check_community(session, user, body.community)
    result = grid_edits.undo(session, body.community, base_version=body.base_version)
    return _audited(session, user, "grids.undo", result)


def _audit_locks(
    session: SessionDep, user: GridEditor, codes: list[str], *, locked: bool, changed: int
) -> None:
    """One audit row per community whose grids' lock flag changed."""
    if not changed:
        return
    action = "grids.lock" if locked else "grids.unlock"
    by_community: dict[str, list[str]] = {}
    for code in sorted(set(codes)):
        by_community.setdefault(code[:12], []).append(code)
    for community, its_codes in by_community.items():
        detail = {"codes": its_codes, "before": {"locked": not locked}, "after": {"locked": locked}}
        audit.record(session, user, action, "grids", community, detail)
