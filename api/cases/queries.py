"""Reading cases: one case with its history, filtered lists, statistics, export rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from api.cases.workflow import DONE
from api.storage import models
from data.catalogs import case_categories

Case, Event, W = models.Case, models.CaseEvent, models.Worker
#: Past the deadline: not resolved by due_at (resolved late counts too).
OVERDUE = and_(Case.due_at.is_not(None), func.coalesce(Case.resolved_at, func.now()) > Case.due_at)
PUBLIC_FIELDS = (
    "id", "category", "category_name", "status", "grid_code", "micro_grid_code",
    "community_code", "street_code", "reported_at", "due_at", "overdue", "resolved_at",
    "closed_at", "rating", "lon", "lat", "version", "duplicate_of",
)  # fmt: skip
PERSONAL = ("reporter_name", "reporter_phone")
# phone and ID-card numbers residents type into a description (请联系13812345678), also with
# spaces or dashes inside (139 0000 2222) and in full-width digits (１３９…)
_D, _S = "[0-9０-９]", r"[ \t\u3000\-－‐—.·]?"
_CONTACT = re.compile(
    rf"(?<![0-9０-９])(?:"
    rf"{_D}(?:{_S}{_D}){{16}}{_S}[0-9０-９XxＸｘ]"  # ID card
    rf"|(?:[+＋]?[8８][6６]{_S})?[1１][3-9３-９](?:{_S}{_D}){{9}}"  # mobile
    rf"|[0０]{_D}{{2,3}}{_S}{_D}(?:{_S}{_D}){{6,7}}"  # landline with area code
    rf")(?![0-9０-９])"
)
# names after a label (联系人王某, 姓名：张三): the surname stays, the rest is masked
_NAME = re.compile(
    r"((?:联系人|联系|姓名|户主|业主|租户|报告人|反映人|举报人|当事人)[：:\s是为叫]*)"
    r"([\u4e00-\u9fff](?:(?!电话|手机|先生|女士|号码|联系|住在|家住)[\u4e00-\u9fff]){0,2})"
)


def mask_contacts(text: str | None) -> str | None:
    """The text with phone and ID-card numbers masked but for their first three and last two
    characters (138******78) and labelled names masked but for the surname (联系人王*), for
    everyone who may not see reporters' personal data."""
    if not text:
        return text
    text = _CONTACT.sub(lambda m: m[0][:3] + "*" * (len(m[0]) - 5) + m[0][-2:], text)
    return _NAME.sub(lambda m: m[1] + m[2][0] + "*" * (len(m[2]) - 1), text)


def without_personal(row: dict) -> dict:
    """A case row as shown to someone who may not see reporters' personal data."""
    return {**row, **dict.fromkeys(PERSONAL), "description": mask_contacts(row.get("description"))}


def _columns() -> list:
    return [
        Case.id, Case.external_id, Case.category, Case.description, Case.address, Case.status,
        Case.grid_code, Case.micro_grid_code, Case.community_code, Case.street_code,
        W.worker_id.label("assignee"), W.name.label("assignee_name"), Case.department,
        Case.handling_level, Case.priority, Case.queue, Case.routing, Case.route_distance_m,
        Case.reported_at, Case.due_at, OVERDUE.label("overdue"), Case.supervised,
        Case.duplicate_of, Case.rating, Case.resolved_at, Case.closed_at, Case.updated_at,
        Case.version, Case.intake, Case.building_id, Case.reporter_name, Case.reporter_phone,
        Case.source_lon, Case.source_lat, Case.source_crs,
        func.ST_X(Case.geom).label("lon"), func.ST_Y(Case.geom).label("lat"),
    ]  # fmt: skip


def base_query() -> Select:
    return select(*_columns()).outerjoin(W, W.id == Case.assignee_id)


def as_dict(row) -> dict:
    out = dict(row._mapping)
    cat = case_categories().get(out["category"])
    out["category_name"] = cat["name"] if cat else None
    return out


def one(session: Session, case_id: int, *, receipt: bool = False) -> dict | None:
    """One case (with its receipt token only when asked: the reporter's answer)."""
    query = base_query().where(Case.id == case_id)
    if receipt:
        query = query.add_columns(Case.receipt)
    row = session.execute(query).first()
    return None if row is None else as_dict(row)


def events(session: Session, case_id: int) -> list[dict]:
    """The case's steps in order; `actor_name` is the actor's display name where the actor is
    an account that has one (the timeline shows people by name), else None."""
    query = (
        select(
            Event.id,
            Event.at,
            Event.actor,
            models.User.display_name.label("actor_name"),
            Event.kind,
            Event.action,
            Event.from_status,
            Event.to_status,
            Event.note,
            Event.data,
        )  # fmt: skip
        .outerjoin(models.User, models.User.username == Event.actor)
        .where(Event.case_id == case_id)
        .order_by(Event.at, Event.id)
    )
    return [dict(r._mapping) for r in session.execute(query)]


def attachments(session: Session, case_id: int) -> list[dict]:
    A = models.CaseAttachment
    query = (
        select(A.id, A.filename, A.content_type, A.size, A.sha256, A.created_at)
        .where(A.case_id == case_id)
        .order_by(A.id)
    )
    return [dict(r._mapping) for r in session.execute(query)]


@dataclass
class Filters:
    grid: str | None = None
    community: str | None = None
    street: str | None = None
    status: list[str] | None = None
    category: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    assignee: str | None = None
    department: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list:
        out = []
        if self.grid:
            out.append(Case.grid_code == self.grid)
        if self.community:
            out.append(Case.community_code == self.community)
        if self.street:
            out.append(Case.street_code == self.street)
        if self.status:
            out.append(Case.status.in_(self.status))
        if self.category:  # a top-level code takes its sub-categories too
            out.append(
                or_(Case.category == self.category, Case.category.like(f"{self.category}.%"))
            )
        if self.overdue is not None:
            out.append(OVERDUE if self.overdue else ~OVERDUE)
        if self.supervised is not None:
            out.append(Case.supervised.is_(self.supervised))
        if self.assignee:
            out.append(W.worker_id == self.assignee)
        if self.department:
            out.append(Case.department == self.department)
        if self.since:
            out.append(Case.reported_at >= self.since)
        if self.until:
            out.append(Case.reported_at < self.until)
        return out


def listing(
    session: Session, visible, filters: Filters, *, page: int, page_size: int
) -> tuple[int, list[dict]]:
    """(total, one page of cases, newest first) matching `filters` among the visible ones."""
    where = [visible, *filters.where()]
    total = session.execute(
        select(func.count()).select_from(Case).outerjoin(W, W.id == Case.assignee_id).where(*where)
    ).scalar_one()
    query = (
        base_query()
        .where(*where)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return total, [as_dict(r) for r in session.execute(query)]


def export_rows(session: Session, visible, filters: Filters):
    query = base_query().where(visible, *filters.where()).order_by(Case.id)
    for row in session.execute(query).yield_per(2000):
        yield as_dict(row)


STAT_KEYS = {"grid": Case.grid_code, "community": Case.community_code, "street": Case.street_code}


def stats(session: Session, visible, filters: Filters, *, by: str) -> list[dict]:
    """Per grid, community or street office: counts, closure rate, median hours to close,
    overdue share."""
    key = STAT_KEYS[by]
    done = Case.status.in_(sorted(DONE))
    hours = func.extract("epoch", Case.resolved_at - Case.reported_at) / 3600.0
    query = (
        select(
            key.label("code"),
            func.count().label("total"),
            func.count().filter(~done).label("open"),
            func.count().filter(done).label("closed"),
            func.count().filter(OVERDUE).label("overdue"),
            func.count().filter(Case.supervised).label("supervised"),
            func.percentile_cont(0.5).within_group(hours).label("median_hours_to_close"),
            func.avg(case((Case.rating.is_not(None), Case.rating))).label("mean_rating"),
        )
        .select_from(Case)
        .outerjoin(W, W.id == Case.assignee_id)
        .where(visible, *filters.where())
        .group_by(key)
        .order_by(key.nulls_last())
    )
    out = []
    for r in session.execute(query):
        median = r.median_hours_to_close
        out.append(
            {
                "code": r.code,
                "total": r.total,
                "open": r.open,
                "closed": r.closed,
                "closure_rate": round(r.closed / r.total, 4) if r.total else None,
                "median_hours_to_close": None if median is None else round(float(median), 2),
                "overdue": r.overdue,
                "overdue_share": round(r.overdue / r.total, 4) if r.total else None,
                "supervised": r.supervised,
                "mean_rating": None if r.mean_rating is None else round(float(r.mean_rating), 2),
            }
        )
    return out
