"""Queue one message per status change of a case whose reporter can be reached: by SMS when
they left a phone, else on the status page their receipt opens. Called inside the transaction
of the change, so a rolled-back change queues nothing."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from api.storage import models
from data.catalogs import case_categories

#: the status a reporter reads, Chinese first (public wording: no internal queue names)
PUBLIC_STATUS = {
    "reported": ("已受理", "received"),
    "dispatched": ("已派给网格员", "assigned to the grid worker"),
    "accepted": ("网格员已接单", "accepted by the grid worker"),
    "in_progress": ("正在处理", "being handled"),
    "escalated_community": ("已上报社区处理", "passed to the community"),
    "escalated_street": ("已流转街道处理", "passed to the street office"),
    "transferred": ("已交由职能部门处理", "passed to a department"),
    "claimed": ("职能部门已认领", "claimed by a department"),
    "resolved": ("已办结，欢迎评价", "resolved; please rate it"),
    "rated": ("已评价，感谢反馈", "rated; thank you"),
    "closed": ("已结案", "closed"),
}


def public_status(status: str) -> tuple[str, str]:
    return PUBLIC_STATUS.get(status, (status, status))


def message(case_id: int, category: str, status: str) -> str:
    """The text sent to the reporter: Chinese, then English; no personal data, no receipt."""
    zh, en = public_status(status)
    cat = case_categories().get(category) or {}
    name, name_en = cat.get("name", category), cat.get("name_en", category)
    return (
        f"【网格】您反映的“{name}”问题（编号 {case_id}）{zh}。请用回执链接查看进度。"
        f" / Your report #{case_id} ({name_en}) is {en}. Open your receipt link for details."
    )


def queue_status_change(session: Session, case, *, status: str, version: int) -> bool:
    """Queue the message for `case` (its row before the change) now in `status` at `version`;
    False when the reporter cannot be reached. The key case+version makes it idempotent."""
    channel = "sms" if case.reporter_phone else "status_page" if case.receipt else None
    if channel is None:
        return False
    queue(session, f"case:{case.id}:v{version}", case_id=case.id, channel=channel,
          address=case.reporter_phone, status=status,
          body=message(case.id, case.category, status))  # fmt: skip
    return True


def queue(session: Session, dedupe_key: str, **values) -> bool:
    """Queue one message (`values`: its subject id, channel, address, status, body, and the
    recipient's username where known) once per `dedupe_key`; False when it was queued before."""
    stmt = pg_insert(models.Notification).values(dedupe_key=dedupe_key, **values)
    done = session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return done.rowcount == 1
