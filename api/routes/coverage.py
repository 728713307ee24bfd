"""Coverage of households by walking time to stations, gaps, and new-site suggestions."""

from __future__ import annotations

from typing import Annotated, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator, model_validator

from api.deps import SessionDep
from api.stations import coverage as service
from geo.coords import to_wgs84
from geo.io import json_ready

router = APIRouter(prefix="/api/coverage", tags=["coverage"])

COMMUNITY_CODE = r"^[0-9]{12}$"
STREET_CODE = r"^[0-9]{9}$"
GREEDY_BOUND = (
    "greedy maximal covering: covers at least 1 − (1 − 1/k)^k ≥ 1 − 1/e ≈ 63.2 % of what the "
    "best k sites could (Nemhauser, Wolsey and Fisher 1978); upper_bound is this run's own "
    "bound on the optimum (covered + the k largest marginal gains at the tightest step)"
)


class CoverageRow(BaseModel):
    level: Literal["total", "grid", "community", "street"]
    code: str | None
    function: str
    minutes: float
    households: int
    covered: int
    share: float | None = Field(description="covered / households; null without households")
    buildings: int
    uncovered_buildings: int


class UncoveredBuilding(BaseModel):
    building_id: str
    households: int
    minutes: float | None = Field(description="walk to the nearest such station; null if none")
    lon: float
    lat: float


class GapProperties(BaseModel):
    households: int
    buildings: int


class GapFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict
    properties: GapProperties


class GapCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    method: str
    features: list[GapFeature]


class CoverageResponse(BaseModel):
    community: str | None
    street: str | None
    function: str
    minutes: float
    households: int
    covered: int
    share: float | None
    rows: list[CoverageRow] = Field(
        description="every function (six, any, all) at 5/10/15 min (and `minutes`), per level"
    )
    uncovered_count: int
    uncovered: list[UncoveredBuilding] = Field(description="largest first, up to `limit`")
    gaps: GapCollection


MAX_MINUTES = 30.0  # twice the 15-minute life circle (GB 50180-2018)


def half_minutes(minutes: float) -> float:
    """Minutes to the nearest half minute (at least one half): one cached analysis serves
    every value that rounds alike."""
    return max(0.5, round(minutes * 2) / 2)


LEVELS = {"grid_code": "grid", "community_code": "community", "street_code": "street"}


def _share(covered: int, households: int) -> float | None:
    return round(covered / households, 4) if households else None


@router.get("", response_model=CoverageResponse)
def get_coverage(
    session: SessionDep,
    community: Annotated[str | None, Query(pattern=COMMUNITY_CODE)] = None,
    street: Annotated[str | None, Query(pattern=STREET_CODE)] = None,
    function: Annotated[
        str, Query(description="function code, 'any' (any station) or 'all' (all six)")
    ] = "any",
    minutes: Annotated[
        float, Query(gt=0, le=MAX_MINUTES, description="walking minutes, to the half minute")
    ] = 15.0,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 500,
) -> CoverageResponse:
    """Households within 5/10/15 minutes' walk of a station offering each function, in total
    and per grid, community and street office; the uncovered buildings and the gap layer.
    503 with Retry-After when the analysis cannot be answered in time (WANGGE_ANALYSIS_*)."""
    minutes = half_minutes(minutes)
    result = service.coverage(
        session, community=community, street=street, function=function, minutes=minutes
    )
    table = result.table
    rows = [
        CoverageRow(
            **{
                **r,
                "level": LEVELS.get(r["level"], r["level"]),
                "share": None if r["share"] is None else round(r["share"], 4),
            }
        )
        for r in json_ready(table.to_dict("records"))
    ]
    households = int(result.buildings["households"].sum())
    covered = int(result.buildings.loc[~result.uncovered, "households"].sum())
    gone = result.buildings[result.uncovered].assign(
        minutes=result.minutes.loc[result.uncovered, function]
    )
    gone = gone.sort_values(["households", "building_id"], ascending=[False, True]).head(limit)
    uncovered = [
        UncoveredBuilding(
            building_id=b.building_id,
            households=int(b.households),
            minutes=None if not np.isfinite(b.minutes) else round(float(b.minutes), 2),
            lon=b.geometry.x,
            lat=b.geometry.y,
        )
        for b in gone.itertuples()
    ]
    gaps = GapCollection(
        method=service.GAP_METHOD,
        features=[
            GapFeature(
                geometry=shapely.geometry.mapping(g.geometry),
                properties=GapProperties(households=int(g.households), buildings=int(g.buildings)),
            )
            for g in result.gaps.itertuples()
        ],
    )
    return CoverageResponse(
        community=community,
        street=street,
        function=function,
        minutes=minutes,
        households=households,
        covered=covered,
        share=_share(covered, households),
        rows=rows,
        uncovered_count=int(result.uncovered.sum()),
        uncovered=uncovered,
        gaps=gaps,
    )


class Candidate(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class SuggestionRequest(BaseModel):
    k: int = Field(ge=1, le=50, description="how many new sites")
    minutes: float = Field(15.0, gt=0, le=MAX_MINUTES, description="to the half minute")
    function: str = Field("any", description="function code, 'any' or 'all'")
    candidates: list[Candidate] | None = Field(
        None, max_length=20_000, description="candidate sites; the area's buildings when left out"
    )
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    community: str | None = Field(None, pattern=COMMUNITY_CODE)
    street: str | None = Field(None, pattern=STREET_CODE)

    @field_validator("minutes")
    @classmethod
    def _half(cls, minutes: float) -> float:
        return half_minutes(minutes)

    @model_validator(mode="after")
    def unique_ids(self) -> SuggestionRequest:
        if self.candidates is not None:
            ids = [c.id for c in self.candidates]
            if len(set(ids)) != len(ids):
                msg = "candidate ids must be unique"
                raise ValueError(msg)
            if not ids:
                msg = "candidates is empty: leave it out to use the area's buildings"
                raise ValueError(msg)
        return self


class Site(BaseModel):
    rank: int
    id: str = Field(description="candidate id (a building_id when candidates were left out)")
    lon: float
    lat: float
    gain: int = Field(description="households this site newly covers, after the ones before")
    cumulative: int


class SuggestionResponse(BaseModel):
    function: str
    minutes: float
    method: str = "greedy"
    bound: str = GREEDY_BOUND
    households: int = Field(description="households in the area")
    covered_before: int
    covered_after: int
    gain: int = Field(description="households newly covered by the chosen sites")
    uncovered_before: int
    upper_bound: int = Field(description="no k sites from these candidates can cover more")
    candidates: int
    sites: list[Site]


@router.post("/suggestions", response_model=SuggestionResponse)
def post_suggestions(session: SessionDep, body: SuggestionRequest) -> SuggestionResponse:
    """Choose k sites for new stations covering the most households now without `function`
    within `minutes` (greedy maximal covering on the walking network)."""
    candidates = None
    if body.candidates is not None:
        lon = np.array([c.lon for c in body.candidates])
        lat = np.array([c.lat for c in body.candidates])
        x, y = to_wgs84(lon, lat, crs=body.crs)
        candidates = gpd.GeoDataFrame(
            {"id": [c.id for c in body.candidates]},
            geometry=gpd.points_from_xy(x, y),
            crs=4326,
        )
    result = service.suggest(
        session,
        k=body.k,
        minutes=body.minutes,
        function=body.function,
        candidates=candidates,
        community=body.community,
        street=body.street,
    )
    points = shapely.point_on_surface(result.sites.geometry.to_numpy())
    sites = [
        Site(
            rank=i + 1,
            id=str(row.id),
            lon=float(pt.x),
            lat=float(pt.y),
            gain=int(row.gain),
            cumulative=int(row.cumulative),
        )
        for i, (row, pt) in enumerate(zip(result.sites.itertuples(), points, strict=True))
    ]
    gain = result.choice.covered
    return SuggestionResponse(
        function=body.function,
        minutes=body.minutes,
        households=result.households,
        covered_before=result.covered_before,
        covered_after=result.covered_before + gain,
        gain=gain,
        uncovered_before=result.choice.demand,
        upper_bound=result.choice.upper_bound,
        candidates=result.candidates,
        sites=sites,
    )
