"""Cases over HTTP: intake, one case, lists and filters, transitions, statistics, export,
photo attachments, the category catalog."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api import accounts, cases
from api.cases import intake, navigation, photos, replay, workflow
from api.cases import queries as q
from api.deps import CurrentUser, OptionalUser, SessionDep
from api.errors import NotFoundError
from api.settings import get_settings
from api.storage import models
from api.validation import HIDDEN, check_lon_lat
from data.catalogs import case_categories
from geo.errors import InputError

router = APIRouter(prefix="/api", tags=["cases"])
Crs = Literal["wgs84", "gcj02", "bd09"]
CaseId = Annotated[int, Path(ge=1, le=2**62)]
ALLOWED_CONTROL = {"\n", "\r", "\t"}
# a filter value of the query string: one short line (a NUL would fail in the database, in an
# export only after the answer has begun)
Filter = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
PHOTO_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=128, description="a retry with the same key and body is taken once"),
]


def clean_text(value: str | None, *, name: str, max_chars: int, required: bool = False):
    """Strip; refuse control characters, blank required text and text over `max_chars`."""
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    bad = [
        c
        for c in value
        if (unicodedata.category(c) == "Cc" or HIDDEN.match(c)) and c not in ALLOWED_CONTROL
    ]
    if bad:
        raise ValueError(
            f"{name} 含有不可见的控制字符 U+{ord(bad[0]):04X} "
            f"({name} contains control characters (e.g. U+{ord(bad[0]):04X}))"
        )
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"{name} is empty")
        return None
    if len(value) > max_chars:
        raise ValueError(f"{name} is {len(value)} characters long; at most {max_chars}")
    return value


class CaseIn(BaseModel):
    """A report: coordinates (with their datum), an address, or a building; and a category."""

    model_config = ConfigDict(extra="forbid")
    lon: float | None = Field(None, ge=-180, le=180, description="longitude in `crs`")
    lat: float | None = Field(None, ge=-90, le=90, description="latitude in `crs`")
    crs: Crs = Field("wgs84", description="wgs84 (GPS), gcj02 (高德/腾讯) or bd09 (百度)")
    address: str | None = Field(None, description="an address to geocode, instead of lon/lat")
    building_id: str | None = Field(None, max_length=64, description="a picked building")
    category: str = Field(min_length=1, max_length=64, description="a code of /api/categories")
    description: str = Field(description="what is wrong (free text)")
    reporter_name: str | None = Field(None, description="personal data: shown to staff only")
    reporter_phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{4,30}$")

    @model_validator(mode="before")
    @classmethod
    def _point(cls, data: Any) -> Any:
        """Name swapped or projected coordinates before the range checks reject them."""
        if isinstance(data, dict):
            lon, lat = data.get("lon"), data.get("lat")
            numbers = all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)
            )
            if numbers:
                check_lon_lat(float(lon), float(lat))
        return data

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        limit = get_settings().case_text_max_chars
        return clean_text(v, name="description", max_chars=limit, required=True)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        return clean_text(v, name="address", max_chars=200)

    @field_validator("reporter_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return clean_text(v, name="reporter_name", max_chars=100)

    def new_case(self, intake: str = "api") -> cases.NewCase:
        return cases.NewCase(intake=intake, **self.model_dump())


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    actor_name: str | None = None
    kind: str
    action: str | None
    from_status: str | None
    to_status: str
    note: str | None
    data: dict | None


class AttachmentOut(BaseModel):
    id: int
    filename: str | None
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class CaseOut(BaseModel):
    """A case. Staff see everything; the reporter (with the receipt) sees the public part."""

    id: int
    category: str
    category_name: str | None
    status: str
    grid_code: str | None
    micro_grid_code: str | None
    community_code: str | None
    street_code: str | None
    lon: float | None = Field(description="WGS-84")
    lat: float | None
    reported_at: datetime
    due_at: datetime | None
    overdue: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    version: int = Field(description="send it back with a transition (optimistic locking)")
    duplicate_of: int | None
    description: str | None = None
    address: str | None = None
    assignee: str | None = Field(None, description="workers.worker_id of the assigned worker")
    assignee_name: str | None = None
    department: str | None = None
    handling_level: str | None = None
    priority: str | None = None
    queue: str | None = Field(None, description="grid, community, street or department")
    routing: str | None = Field(None, description="contained, nearest, community or street")
    route_distance_m: float | None = None
    supervised: bool | None = None
    intake: str | None = None
    building_id: str | None = None
    external_id: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    source_lon: float | None = None
    source_lat: float | None = None
    source_crs: str | None = None
    updated_at: datetime | None = None
    receipt: str | None = Field(
        None, description="only in the answer to the report: lets the reporter follow and rate it"
    )
    allowed: list[str] | None = Field(None, description="actions the caller may take now")
    events: list[EventOut] | None = None
    attachments: list[AttachmentOut] | None = None


class CasePage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[CaseOut]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=1, max_length=32, description="see GET /api/cases/workflow")
    version: int = Field(ge=1, description="the version the caller last saw")
    note: str | None = None
    assignee: str | None = Field(None, max_length=64, description="dispatch/reassign: worker_id")
    grid_code: str | None = Field(None, pattern=r"^[0-9]{15}$", description="dispatch/reassign")
    department: str | None = Field(None, max_length=100, description="transfer/reassign")
    rating: int | None = Field(None, ge=1, le=5, description="rate: 1–5")
    receipt: str | None = Field(None, max_length=64, description="the reporter's receipt token")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return clean_text(v, name="note", max_chars=get_settings().case_text_max_chars)


class CategoryOut(BaseModel):
    code: str
    name: str
    name_en: str
    parent: str | None
    level: str
    department: str
    deadline_hours: float
    priority: str
    to_department: bool


def case_out(
    session,
    case_id: int,
    actor: cases.Actor,
    *,
    full: bool,
    with_receipt: bool = False,
    history: bool = True,
    row: dict | None = None,
) -> CaseOut:
    row = row if row is not None else q.one(session, case_id, receipt=with_receipt)
    if row is None:
        raise NotFoundError(f"no case {case_id}")
    receipt = row.pop("receipt", None)
    staff = accounts.sees_personal_data(actor)  # reporters' name and phone
    if not full:
        row = {k: row[k] for k in q.PUBLIC_FIELDS}
    elif not staff:
        row = q.without_personal(row)
    out = CaseOut(**row, receipt=receipt)
    out.allowed = workflow.allowed_actions(out.status, actor.role)
    if history:
        out.events = [EventOut(**e) for e in q.events(session, case_id)] if full else None
        out.attachments = [AttachmentOut(**a) for a in q.attachments(session, case_id)]
    return out


@router.get("/categories", response_model=list[CategoryOut])
def categories() -> list[dict]:
    """The case categories (the grid task list), sub-categories as parent.child."""
    return list(case_categories().values())


@router.get("/cases/workflow")
def workflow_table() -> list[dict]:
    """The transition table: action, from, to and the roles that may take it."""
    return workflow.table()


@router.post("/cases", status_code=201, response_model=CaseOut)
def create_case(
    request: Request,
    response: Response,
    session: SessionDep,
    user: OptionalUser,
    body: CaseIn,
    idempotency_key: Annotated[
        str | None, Header(max_length=128, description="retries with the same key and body")
    ] = None,
) -> CaseOut:
    """Report a case (anonymous allowed); dispatched at once to the grid's worker.

    The answer carries a `receipt` token: the reporter's key to follow and rate the case.
    A retry with the same Idempotency-Key answers the first case (200) only to the same account
    with the same body; for anonymous reports the key is the reporter's secret, so send a random
    one (a UUID). Any other use of a key is a 409 that names nothing of the stored case."""
    actor = cases.Actor.of(user)
    case_id, created, row = intake.intake(
        session,
        body.new_case(),
        actor=actor,
        idempotency_key=idempotency_key,
        database_url=request.app.state.database_url,
    )
    if not created:
        response.status_code = 200
    return case_out(session, case_id, actor, full=True, with_receipt=True, history=False, row=row)


@router.get("/cases", response_model=CasePage)
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{15}$")] = None,
    community: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    street: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    category: Filter = None,
    overdue: bool | None = None,
    supervised: bool | None = None,
    assignee: Filter = None,
    department: Filter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CasePage:
    """Cases the caller may see, newest first, filtered."""
    filters = _filters(**locals())
    actor = cases.Actor.of(user)
    total, rows = q.listing(
        session, cases.visible_filter(actor), filters, page=page, page_size=page_size
    )
    items = []
    for row in rows:
        if not accounts.sees_personal_data(actor):
            row = q.without_personal(row)
        item = CaseOut(**row)
        item.allowed = workflow.allowed_actions(item.status, actor.role)
        items.append(item)
    return CasePage(total=total, page=page, page_size=page_size, items=items)


def _filters(**kw: Any) -> q.Filters:
    unknown = [s for s in kw.get("status") or [] if s not in workflow.STATUSES]
    if unknown:
        raise InputError(f"unknown status {unknown[0]!r}; known: {', '.join(workflow.STATUSES)}")
    names = q.Filters.__dataclass_fields__
    return q.Filters(**{k: v for k, v in kw.items() if k in names})


@router.get("/cases/stats")
def case_stats(
    session: SessionDep,
    user: CurrentUser,
    by: Literal["grid", "community", "street"] = "grid",
    community: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    street: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    category: Filter = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict]:
    """Per grid, community or street office: total, open, closed, closure_rate,
    median_hours_to_close, overdue, overdue_share, supervised, mean_rating."""
    filters = _filters(
        community=community, street=street, category=category, since=since, until=until
    )
    return q.stats(session, cases.visible_filter(cases.Actor.of(user)), filters, by=by)


EXPORT_FIELDS = [
    "id", "category", "category_name", "status", "grid_code", "micro_grid_code",
    "community_code", "street_code", "assignee", "department", "priority", "reported_at",
    "due_at", "overdue", "supervised", "resolved_at", "closed_at", "rating", "duplicate_of",
    "description", "address", "lon", "lat",
]  # fmt: skip


@router.get("/cases/export")
def export_cases(
    session: SessionDep,
    user: CurrentUser,
    format: Literal["csv", "geojson"] = "csv",  # noqa: A002 (the query parameter's name)
    grid: Annotated[str | None, Query(pattern=r"^[0-9]{15}$")] = None,
    community: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    street: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    category: Filter = None,
    overdue: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """The visible cases as CSV (UTF-8 with BOM, for Excel) or a GeoJSON FeatureCollection;
    no personal data of reporters."""
    kw = dict(grid=grid, community=community, street=street, status=status, category=category,
              overdue=overdue, since=since, until=until)  # fmt: skip
    rows = map(
        q.without_personal,
        q.export_rows(session, cases.visible_filter(cases.Actor.of(user)), _filters(**kw)),
    )
    if format == "csv":
        return StreamingResponse(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="cases.csv"'},
        )
    return StreamingResponse(
        _geojson(rows),
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="cases.geojson"'},
    )


def _text(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _csv(rows):
    yield "\ufeff"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        writer.writerow([_text(row[k]) for k in EXPORT_FIELDS])
        if buf.tell() > 65536:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _geojson(rows):
    yield '{"type": "FeatureCollection", "features": ['
    first = True
    for row in rows:
        props = {k: _text(row[k]) for k in EXPORT_FIELDS if k not in ("lon", "lat")}
        geometry = (
            {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
            if row["lon"] is not None
            else None
        )
        feature = {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": props}
        yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False)
        first = False
    yield "]}"


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(
    session: SessionDep,
    user: OptionalUser,
    case_id: CaseId,
    receipt: Annotated[
        str | None, Query(max_length=64, description="the reporter's receipt")
    ] = None,
) -> CaseOut:
    """One case with its history (`events`); 404 for an unknown case or one the caller may not
    see. Without an account, the reporter's receipt shows the public part and the history."""
    actor = cases.Actor.of(user)
    case = cases.load_case(session, case_id)
    if user is not None and cases.may_see(actor, case):
        return case_out(session, case_id, actor, full=True)
    if receipt and case.receipt and receipt == case.receipt:
        out = case_out(session, case_id, cases.Actor("reporter", "resident"), full=False)
        out.events = [
            EventOut(**{**e, "actor": None, "actor_name": None, "data": None})
            for e in q.events(session, case_id)
        ]
        return out
    raise NotFoundError(f"no case {case_id}")


@router.post("/cases/{case_id}/transitions", response_model=CaseOut)
def transition(
    session: SessionDep,
    user: OptionalUser,
    case_id: CaseId,
    body: TransitionIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    """Take one step of the workflow. `version` must be the case's current one (else 409);
    an action not possible from the status answers 409 with the `allowed` ones; a role that
    may not take it, 403. Without an account, only the reporter (with `receipt`) may rate or
    reopen."""
    actor = cases.Actor.of(user)
    digest = replay.fingerprint(body.model_dump())
    if replay.earlier(session, case_id, idempotency_key, digest, actor=actor.username):
        response.headers["Idempotent-Replayed"] = "true"
    else:
        step = cases.Step(**body.model_dump(), tags=replay.tags(idempotency_key, digest))
        cases.transition(session, case_id, step, actor=actor)
    if user is None:
        return case_out(session, case_id, cases.Actor("reporter", "resident"), full=False)
    return case_out(session, case_id, actor, full=True)


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentOut)
async def add_attachment(
    session: SessionDep,
    user: OptionalUser,
    case_id: CaseId,
    file: UploadFile,
    response: Response,
    receipt: Annotated[str | None, Form(max_length=64)] = None,
    idempotency_key: IdempotencyKey = None,
) -> AttachmentOut:
    """Attach a photo (JPEG, PNG or WebP, at most WANGGE_CASE_PHOTO_MAX_BYTES)."""
    actor = cases.Actor.of(user)
    case = cases.load_case(session, case_id)
    allowed = (user is not None and cases.may_see(actor, case)) or (
        receipt is not None and receipt == case.receipt
    )
    if not allowed:
        raise NotFoundError(f"no case {case_id}")
    limit = get_settings().case_photo_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise InputError(f"the photo is larger than {limit:,} bytes")
    if not content:
        raise InputError("the photo is empty")
    if photo_type(content) is None:
        raise InputError(
            f"not a JPEG, PNG or WebP image (declared {file.content_type or 'no type'})"
        )
    try:
        name = clean_text(file.filename, name="filename", max_chars=200)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    A = models.CaseAttachment
    uploader, digest = actor.username if user else "reporter", replay.fingerprint(content)
    if known := replay.earlier(session, case_id, idempotency_key, digest, actor=uploader):
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
        return AttachmentOut.model_validate(
            session.get(A, known["attachment"]), from_attributes=True
        )
    # decoded and saved again in a worker thread: only pixels are stored, never the upload
    content, kind = await run_in_threadpool(
        photos.clean_photo, content, max_pixels=get_settings().case_photo_max_pixels
    )
    row = A(
        case_id=case_id,
        filename=name,
        content_type=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=uploader,
    )
    session.add(row)
    session.flush()
    session.add(
        models.CaseEvent(
            case_id=case_id, actor=row.uploaded_by, from_status=case.status,
            to_status=case.status, kind="attachment", action="attach",
            data={"attachment": row.id, "size": row.size, "content_type": kind,
                  **replay.tags(idempotency_key, digest)},
        )
    )  # fmt: skip
    session.flush()
    return AttachmentOut(
        id=row.id, filename=name, content_type=kind, size=row.size, sha256=row.sha256,
        created_at=row.created_at,
    )  # fmt: skip


def photo_type(content: bytes) -> str | None:
    """The image type by its first bytes (never by the declared type)."""
    for magic, kind in PHOTO_TYPES.items():
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def get_attachment(
    session: SessionDep,
    user: OptionalUser,
    case_id: CaseId,
    attachment_id: Annotated[int, Path(ge=1)],
    receipt: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The photo's bytes."""
    case = cases.load_case(session, case_id)
    actor = cases.Actor.of(user)
    if not (
        (user is not None and cases.may_see(actor, case)) or (receipt and receipt == case.receipt)
    ):
        raise NotFoundError(f"no case {case_id}")
    row = session.get(models.CaseAttachment, attachment_id)
    if row is None or row.case_id != case_id:
        raise NotFoundError(f"no attachment {attachment_id} of case {case_id}")
    return Response(
        row.content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": photo_disposition(case_id, row),
            "X-Content-Type-Options": "nosniff",
        },
    )


def photo_disposition(case_id: int, row: models.CaseAttachment) -> str:
    """Shown inline (an image type, never sniffed), named by its ids in ASCII and by the
    uploader's name (with the stored type's suffix) in filename*."""
    suffix = PHOTO_SUFFIX.get(row.content_type, "")
    ascii_name = f"case-{case_id}-photo-{row.id}{suffix}"
    stem = re.split(r"[/\\]", row.filename or "")[-1].rsplit(".", 1)[0]
    own = quote((stem or ascii_name.removesuffix(suffix)) + suffix, safe="")
    kind = "inline" if row.content_type in PHOTO_SUFFIX else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{own}"


@router.get("/cases/{case_id}/navigation")
def case_navigation(session: SessionDep, user: CurrentUser, case_id: CaseId) -> dict:
    """Open the case in a phone's map app: the point in WGS-84, GCJ-02 (高德) and BD-09 (百度)
    and marker links for Amap and Baidu Maps; 404 when the case has no place or is not the
    caller's to see."""
    case = cases.load_case(session, case_id)
    row = q.one(session, case_id)
    if not cases.may_see(cases.Actor.of(user), case) or row is None or row["lon"] is None:
        raise NotFoundError(f"no place for case {case_id}")
    name = f"#{case_id} {row['category_name'] or row['category']}"
    return navigation.links(row["lon"], row["lat"], name=name)
