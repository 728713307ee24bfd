"""Open311 GeoReport v2 (JSON) mapped onto the case model.

services = the case categories; a request = a case; `status` is open until the case is
resolved (resolved, rated, closed → closed); lat/long are WGS-84. Requests are created through
the same intake as POST /api/cases (dispatch, duplicates, idempotency by the optional
Idempotency-Key header). Errors answer in the GeoReport format: 400 with
[{"code", "description"}]. No personal data of reporters is ever returned.

Reads follow the rules of /api/cases: a signed-in caller gets the cases it may see (others
are absent, one by id is 404), descriptions masked unless its role sees personal data; an
anonymous caller gets every case's public part only: category, status, dates, the handling
unit and a location rounded to 0.01° (about 1 km), never the description or address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api import accounts, cases
from api.cases import queries as q
from api.cases.workflow import DONE
from api.deps import OptionalUser, SessionDep
from api.errors import ConflictError, NotFoundError
from api.routes.cases import CaseIn
from api.storage import models
from data.catalogs import case_categories
from geo.errors import InputError

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_LIST = 1000


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse(status_code=status, content=[{"code": status, "description": description}])


@router.get("/services.json")
def services() -> list[dict]:
    """Every category as a GeoReport service (realtime, no extra attributes)."""
    return [
        {
            "service_code": c["code"],
            "service_name": c["name"],
            "description": f"{c['name_en']}; handled at {c['level']} level by {c['department']}, "
            f"deadline {c['deadline_hours']} h",
            "metadata": False,
            "type": "realtime",
            "keywords": c["name_en"].lower(),
            "group": case_categories()[c["parent"]]["name"] if c["parent"] else c["name"],
        }
        for c in case_categories().values()
    ]


TEXT_FIELDS = ("service_code", "description", "first_name", "last_name", "phone",
               "address_string", "address_id")  # fmt: skip


def _not_text(form: dict) -> str | None:
    """The first field of `form` that should be text and is not (JSON numbers, lists …)."""
    return next(
        (k for k in TEXT_FIELDS if form.get(k) is not None and not isinstance(form[k], str)), None
    )


def _body_fields(form: dict) -> dict:
    text = [form.get("description") or ""]
    name = " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p) or None
    body = {
        "category": form.get("service_code") or "",
        "description": "".join(text),
        "reporter_name": name,
        "reporter_phone": form.get("phone") or None,
    }
    if form.get("lat") not in (None, "") or form.get("long") not in (None, ""):
        body.update(lon=form.get("long"), lat=form.get("lat"), crs="wgs84")
    elif form.get("address_id"):
        body["building_id"] = form["address_id"]
    elif form.get("address_string"):
        body["address"] = form["address_string"]
    return body


@router.post("/requests.json", status_code=201)
async def create_request(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
):
    """Create a service request (form-encoded, as the standard says, or JSON)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            form = await request.json()
        except ValueError as exc:  # not JSON, or not UTF-8
            return _error(400, f"请求体不是有效的 JSON (the body is not valid JSON: {exc})")
        if not isinstance(form, dict):
            return _error(400, "请求体须为 JSON 对象 (the body must be a JSON object)")
    else:
        form = dict(await request.form())
    if field := _not_text(form):
        return _error(400, f"{field} 须为文本 ({field} must be text)")
    if not form.get("service_code"):
        return _error(400, "service_code is required")
    try:
        body = CaseIn(**_body_fields(form))
        case_id, _ = cases.create_case(
            session,
            body.new_case(intake="open311"),
            actor=cases.Actor.of(user),
            idempotency_key=idempotency_key,
            database_url=request.app.state.database_url,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _error(400, f"{where}: {first['msg']}")
    except InputError as exc:
        return _error(400, str(exc))
    except ConflictError as exc:
        return _error(409, str(exc))
    case = session.get(models.Case, case_id)
    notice = {
        "dispatched": "已派发至网格员",
        "transferred": "已直派职能部门",
        "reported": "已进入分拨队列",
    }.get(case.status, case.status)
    return [
        {
            "service_request_id": str(case_id),
            "token": case.receipt,
            "service_notice": notice,
            "account_id": None,
        }
    ]


def _public(row: dict, actor: cases.Actor | None) -> dict:
    """The GeoReport view of a case row: full (masked) for `actor`, coarse when None."""
    cat = case_categories().get(row["category"], {})
    closed = row["status"] in DONE
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if closed else "open",
        "status_notes": row["status"],
        "service_name": cat.get("name"),
        "service_code": row["category"],
        "description": None if actor is None else row["description"],
        "agency_responsible": row["department"]
        or (f"网格 {row['grid_code']}" if row["grid_code"] else row["community_code"]),
        "service_notice": None,
        "requested_datetime": row["reported_at"].isoformat(),
        "updated_datetime": row["updated_at"].isoformat() if row["updated_at"] else None,
        "expected_datetime": row["due_at"].isoformat() if row["due_at"] else None,
        "address": None if actor is None else row["address"],
        "address_id": None if actor is None else row["building_id"],
        "zipcode": None,
        "lat": _coarse(row["lat"]) if actor is None else row["lat"],
        "long": _coarse(row["lon"]) if actor is None else row["lon"],
        "media_url": None,
    }


def _coarse(degrees: float | None) -> float | None:
    return None if degrees is None else round(degrees, 2)


def _shown(row: dict, actor: cases.Actor | None) -> dict:
    if actor is not None and not accounts.sees_personal_data(actor):
        row = q.without_personal(row)
    return _public(row, actor)


@router.get("/requests.json")
def list_requests(
    session: SessionDep,
    user: OptionalUser,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)(,(open|closed))?$")] = None,
):
    """Requests, newest first: by ids (comma-separated) or filtered (default: last 90 days,
    at most 1000)."""
    C = models.Case
    actor = None if user is None else cases.Actor.of(user)
    query = q.base_query()
    if actor is not None:
        query = query.where(cases.visible_filter(actor))
    if service_request_id:
        try:
            ids = [int(i) for i in service_request_id.split(",") if i.strip()]
        except ValueError:
            return _error(400, "service_request_id must be comma-separated numbers")
        query = query.where(C.id.in_(ids))
    else:
        end = end_date or datetime.now(UTC)
        try:
            start = start_date or end - timedelta(days=90)
        except OverflowError:  # end_date in the first 90 days of year 1
            return _error(400, f"end_date 超出范围 (end_date out of range: {end.isoformat()})")
        query = query.where(C.reported_at >= start, C.reported_at <= end)
        if service_code:
            query = query.where(C.category == service_code)
        if status and "," not in status:
            done = C.status.in_(sorted(DONE))
            query = query.where(done if status == "closed" else ~done)
    query = query.order_by(C.reported_at.desc(), C.id.desc()).limit(MAX_LIST)
    return [_shown(q.as_dict(r), actor) for r in session.execute(query)]


@router.get("/requests/{request_id}.json")
def get_request(session: SessionDep, user: OptionalUser, request_id: str):
    """One request, as a list of one (the GeoReport convention)."""
    if not (request_id.isascii() and request_id.isdigit()) or int(request_id) > 2**62:
        return _error(404, f"no request {request_id}")
    actor = None if user is None else cases.Actor.of(user)
    if actor is not None and not cases.may_see(actor, cases.load_case(session, int(request_id))):
        raise NotFoundError(f"no request {request_id}")
    row = q.one(session, int(request_id))
    if row is None:
        raise NotFoundError(f"no request {request_id}")
    return [_shown(row, actor)]
