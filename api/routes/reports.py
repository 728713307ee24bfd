"""Residents without an account: open reports nearby before filing one, "我也遇到" (+1), the
status page a receipt opens, and the report pages /map/report and /map/report/<receipt>."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.cases import residents
from api.cases.intake import category as known_category
from api.deps import SessionDep, SettingsDep
from api.routes.cases import CaseId
from api.storage import map_data
from data.catalogs import case_categories
from geo.coords import to_wgs84
from maps.messages import language
from maps.report import build_receipt_page, build_report_page

router = APIRouter(tags=["reports"])
Receipt = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# the receipt is the reporter's key: kept out of the access log and of Referer headers
RECEIPT_IN_PATH = re.compile(r"(/map/report/)[A-Za-z0-9_-]+|(receipt=)[^&\s\"]+")
PRIVATE_PAGE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class RedactReceipts(logging.Filter):
    """Writes receipts in access-log lines as ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                RECEIPT_IN_PATH.sub(lambda m: (m[1] or m[2]) + "***", a) if isinstance(a, str)
                else a
                for a in record.args
            )  # fmt: skip
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactReceipts) for f in access.filters):
        access.addFilter(RedactReceipts())


class PublicCase(BaseModel):
    """What anyone may see of a case: no text, no people, no place."""

    id: int
    category: str
    category_name: str | None
    status: str
    status_text: str = Field(description="the status as residents read it")
    status_text_en: str


class NearbyOut(PublicCase):
    reported_at: datetime
    distance_m: float
    supporters: int = Field(description="residents who added 我也遇到")


class SupportOut(PublicCase):
    supporters: int


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class StepOut(BaseModel):
    at: datetime
    status: str
    text: str
    text_en: str


class ReportStatusOut(PublicCase):
    reported_at: datetime
    resolved_at: datetime | None
    rating: int | None
    version: int
    supporters: int
    allowed: list[str] = Field(description="what the reporter may do now: rate, reopen")
    reopen_until: datetime | None
    steps: list[StepOut]


@router.get("/api/cases/nearby", response_model=list[NearbyOut])
def nearby(
    session: SessionDep,
    settings: SettingsDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    category: Annotated[str, Query(min_length=1, max_length=64)],
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84",
) -> list[dict]:
    """Open reports of the same category within WANGGE_CASE_DUPLICATE_M (50 m) of the point,
    nearest first, at most WANGGE_REPORT_NEARBY_MAX: no description, no people, no place
    beyond the distance."""
    known_category(category)
    x, y = to_wgs84(lon, lat, crs=crs)
    return residents.nearby_open(
        session, lon=float(x), lat=float(y), category=category,
        radius_m=settings.case_duplicate_m, limit=settings.report_nearby_max,
    )  # fmt: skip


@router.post("/api/cases/{case_id}/support", response_model=SupportOut)
def support(session: SessionDep, case_id: CaseId) -> dict:
    """我也遇到: a resident has the same problem; recorded as an event on the open case (no
    new case). 409 when the case is no longer open."""
    return residents.add_support(session, case_id)


@router.post("/api/reports/status", response_model=ReportStatusOut)
def report_status(session: SessionDep, settings: SettingsDep, body: ReceiptIn) -> dict:
    """The reporter's status page by receipt (sent in the body, never in a URL that is
    logged): the public timeline, what they may do and until when they may reopen."""
    case_id = residents.by_receipt(session, body.receipt)
    return residents.status_page(session, case_id, reopen_days=settings.report_reopen_days)


@router.get("/map/report", response_class=HTMLResponse, tags=["maps"])
def report_page(
    session: SessionDep, settings: SettingsDep, lang: Annotated[str, Query()] = "zh"
) -> HTMLResponse:
    """The resident's report page (phone first): place, category, description, photos."""
    codes = map_data.communities_of(session, street=None, community=None)
    html = build_report_page(
        case_categories().values(), lang=language(lang), tiles=settings.tile_url,
        attribution=settings.tile_attribution, bounds=map_data.extent(session, codes),
    )  # fmt: skip
    return HTMLResponse(html, headers=PRIVATE_PAGE)


@router.get("/map/report/{receipt}", response_class=HTMLResponse, tags=["maps"])
def receipt_page(receipt: Receipt, lang: Annotated[str, Query()] = "zh") -> HTMLResponse:
    """The reporter's status page; the page itself holds no case data (it asks with the
    receipt in a POST body), is never cached and sends no Referer."""
    return HTMLResponse(build_receipt_page(lang=language(lang)), headers=PRIVATE_PAGE)
