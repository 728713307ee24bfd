"""What residents see and do without an account: open reports of the same category near a
point (public-safe: no text, no people), "我也遇到" (+1 on one of them, an event, no new case),
and the status page their receipt opens (the public timeline)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.cases import queries as q
from api.cases import workflow
from api.cases.rows import Case, Event, _event, _now, load_case
from api.errors import ConflictError, NotFoundError
from api.notifications.outbox import public_status
from data.catalogs import case_categories

SUPPORT = "support"

NEARBY = text("""
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g)
SELECT c.id, c.category, c.status, c.reported_at,
       round(ST_Distance(c.geom::geography, pt.g)::numeric, 0)::float AS distance_m,
       (SELECT count(*) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'support')
         AS supporters
FROM cases c, pt
WHERE c.category = :category AND c.status = ANY(:open) AND c.duplicate_of IS NULL
  AND c.geom IS NOT NULL AND ST_DWithin(c.geom::geography, pt.g, :radius)
ORDER BY distance_m, c.id
LIMIT :limit
""")


def _public(row: dict) -> dict:
    zh, en = public_status(row["status"])
    cat = case_categories().get(row["category"]) or {}
    return {**row, "category_name": cat.get("name"), "status_text": zh, "status_text_en": en}


def nearby_open(
    session: Session, *, lon: float, lat: float, category: str, radius_m: float, limit: int
) -> list[dict]:
    """Open, not-duplicate cases of `category` within `radius_m` of WGS-84 lon/lat, nearest
    first: id, category, status (with its public wording), reported_at, distance_m,
    supporters. Nothing a resident wrote, no coordinates, no people."""
    params = {"lon": lon, "lat": lat, "category": category, "radius": radius_m,
              "limit": limit, "open": sorted(workflow.OPEN)}  # fmt: skip
    return [_public(dict(r._mapping)) for r in session.execute(NEARBY, params)]


def supporters(session: Session, case_id: int) -> int:
    query = select(func.count()).where(Event.case_id == case_id, Event.kind == SUPPORT)
    return session.execute(query).scalar_one()


def add_support(session: Session, case_id: int) -> dict:
    """Record "我也遇到" on an open case: one event, the case itself unchanged."""
    case = load_case(session, case_id, lock=True)
    if case.status not in workflow.OPEN or case.duplicate_of is not None:
        msg = (
            f"事件 {case_id} 已办结或已合并，不能再附议；请新建上报 "
            f"(case {case_id} is no longer open: file a new report)"
        )
        raise ConflictError(msg)
    _event(session, case_id, actor="public", before=case.status, after=case.status,
           kind=SUPPORT, action=SUPPORT, at=_now(session))  # fmt: skip
    row = {"id": case_id, "category": case.category, "status": case.status}
    return _public(row) | {"supporters": supporters(session, case_id)}


def by_receipt(session: Session, receipt: str) -> int:
    """The case a receipt opens (NotFoundError otherwise; compared in constant time)."""
    found = session.execute(select(Case.id, Case.receipt).where(Case.receipt == receipt)).first()
    if found is None or not secrets.compare_digest(found.receipt.encode(), receipt.encode()):
        msg = "回执无效或已失效 (no report with this receipt)"
        raise NotFoundError(msg)
    return found.id


def status_page(session: Session, case_id: int, *, reopen_days: float) -> dict:
    """The reporter's view: the public fields, the steps in Chinese with their times (no
    notes, no people), the +1 count, what they may do now and until when they may reopen."""
    row = q.one(session, case_id)
    steps = []
    for e in q.events(session, case_id):
        if e["kind"] == SUPPORT:
            continue
        if e["kind"] != "create" and e["from_status"] == e["to_status"]:
            continue  # notes, photos, supervision: internal
        zh, en = public_status(e["to_status"])
        steps.append({"at": e["at"], "status": e["to_status"], "text": zh, "text_en": en})
    allowed = [a for a in workflow.allowed_actions(row["status"], "resident")]
    reopen_until = None
    if row["resolved_at"] is not None and row["status"] == "resolved":
        reopen_until = row["resolved_at"] + timedelta(days=reopen_days)
        if _now(session) > reopen_until:
            allowed = [a for a in allowed if a != "reopen"]
    public = {k: row[k] for k in ("id", "category", "category_name", "status", "reported_at",
                                  "resolved_at", "rating", "version")}  # fmt: skip
    zh, en = public_status(row["status"])
    return public | {"status_text": zh, "status_text_en": en, "steps": steps,
                     "supporters": supporters(session, case_id), "allowed": allowed,
                     "reopen_until": reopen_until}  # fmt: skip
