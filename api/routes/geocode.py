"""Geocoding over HTTP against the database's address base: one address, a batch, a point."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator

from api.addresses import geocode as geocode_db
from api.deps import SessionDep
from api.settings import get_settings
from geo.geocode import Match

router = APIRouter(prefix="/api", tags=["geocode"])

Crs = Literal["wgs84", "gcj02", "bd09"]
Level = Literal[
    "roomno",
    "cellno",
    "houseno",
    "poi",
    "roadno",
    "road",
    "community",
    "town",
    "district",
    "city",
    "none",
]
MAX_BATCH = 1000
CRS_HELP = "datum of the coordinates: wgs84 (GPS), gcj02 (高德/腾讯) or bd09 (百度)"


def _address_problem(text: str) -> str | None:
    """Why `text` is not an address to geocode (empty, or over WANGGE_MAX_ADDRESS_CHARS)."""
    if not text.strip():
        return "地址为空 (the address is empty)"
    limit = get_settings().max_address_chars
    if len(text) > limit:
        return (
            f"地址有 {len(text)} 个字符，超过 {limit} 个字符的上限 (the address has {len(text)} "
            f"characters, more than the limit of {limit}, WANGGE_MAX_ADDRESS_CHARS)"
        )
    return None


def _address(text: str) -> str:
    if problem := _address_problem(text):
        raise ValueError(problem)
    return text


class GeocodeQuery(BaseModel):
    q: str = Field(min_length=1, description="an address as people write it (≤ 200 characters)")
    crs: Crs = Field("wgs84", description=f"output {CRS_HELP}")

    _q = field_validator("q")(_address)


class BatchRequest(BaseModel):
    addresses: list[str] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} addresses"
    )
    crs: Crs = Field("wgs84", description=f"output {CRS_HELP}")

    @field_validator("addresses")
    @classmethod
    def _each_not_blank(cls, texts: list[str]) -> list[str]:
        for position, text in enumerate(texts):
            if problem := _address_problem(text):
                msg = f"第 {position} 个地址 (address at position {position}): {problem}"
                raise ValueError(msg)
        return texts


class CandidateOut(BaseModel):
    matched_id: str
    matched_address: str
    level: str
    score: float


class GeocodeResult(BaseModel):
    text: str
    lon: float | None = Field(description="longitude in the requested crs; null when level is none")
    lat: float | None
    crs: Crs
    level: Level = Field(description="the finest element matched")
    score: float = Field(ge=0, le=1)
    matched_id: str | None = Field(
        description="place of the address base: building:…, compound:…, road:…, station:…"
    )
    matched_address: str | None
    candidates: list[CandidateOut] = Field(description="other readings, best first")


class ReverseQuery(BaseModel):
    lon: float = Field(ge=-180, le=180, description="longitude, −180…180")
    lat: float = Field(ge=-90, le=90, description="latitude, −90…90")
    crs: Crs = Field("wgs84", description=f"input {CRS_HELP}")
    max_distance_m: float = Field(
        geocode_db.MAX_DISTANCE_M, gt=0, le=1000, description="how far a building may be, metres"
    )


class Area(BaseModel):
    code: str
    name: str


class Place(BaseModel):
    id: str = Field(description="compound:…, station:… or road:…")
    kind: str
    address: str
    distance_m: float
    house_number: int | None = Field(
        description="interpolated along the road's number range; roads only"
    )


class ReverseResult(BaseModel):
    address: str | None = Field(
        description="the nearest building's address (or its compound's); without one, the "
        "place's: the compound containing the point, a station nearby, or the nearest road"
    )
    building_id: str | None
    distance_m: float | None = Field(description="metres to the building; 0 inside its footprint")
    place: Place | None = Field(description="set when no building with an address is near")
    micro_grid_code: str | None
    grid_code: str | None
    community: Area | None
    street: Area | None


def _result(text: str, match: Match, crs: str) -> GeocodeResult:
    return GeocodeResult(
        text=text,
        lon=None if match.lon is None else round(match.lon, 7),
        lat=None if match.lat is None else round(match.lat, 7),
        crs=crs,
        level=match.level,
        score=match.score,
        matched_id=match.matched_id,
        matched_address=match.matched_address,
        candidates=[
            CandidateOut(
                matched_id=c.matched_id,
                matched_address=c.matched_address,
                level=c.level,
                score=c.score,
            )
            for c in match.candidates
        ],
    )


@router.get("/geocode")
def geocode(
    request: Request, session: SessionDep, query: Annotated[GeocodeQuery, Query()]
) -> GeocodeResult:
    """Geocode one address against the standard address base (buildings, compounds, roads,
    stations)."""
    url = request.app.state.database_url
    match = geocode_db.geocode_one(session, url, query.q, crs=query.crs)
    return _result(query.q, match, query.crs)


@router.post("/geocode/batch")
def geocode_batch(request: Request, session: SessionDep, body: BatchRequest) -> list[GeocodeResult]:
    """Geocode up to 1000 addresses; the answers in the order of the input."""
    url = request.app.state.database_url
    matches = geocode_db.geocode_many_db(session, url, body.addresses, crs=body.crs)
    return [_result(t, m, body.crs) for t, m in zip(body.addresses, matches, strict=True)]


@router.get("/reverse")
def reverse(session: SessionDep, query: Annotated[ReverseQuery, Query()]) -> ReverseResult:
    """What is at a point: nearest building and address, micro-grid, grid, community, street.

    Fields are null where nothing is found (a point outside every area is not an error)."""
    found = geocode_db.reverse(
        session, query.lon, query.lat, crs=query.crs, max_distance_m=query.max_distance_m
    )
    a = found.areas
    return ReverseResult(
        address=found.address,
        building_id=found.building_id,
        distance_m=found.distance_m,
        place=None
        if found.place is None
        else Place(
            id=found.place.id,
            kind=found.place.kind,
            address=found.place.address,
            distance_m=round(found.place.distance_m, 2),
            house_number=found.place.house_number,
        ),
        micro_grid_code=a.micro_grid_code,
        grid_code=a.grid_code,
        community=Area(code=a.community_code, name=a.community_name) if a.community_code else None,
        street=Area(code=a.street_code, name=a.street_name) if a.street_code else None,
    )
