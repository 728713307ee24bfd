"""Sample cases for `wangge demo`: the dataset's reports routed, and some carried along the loop.

Deterministic: the same data give the same cases and statuses. Where a dataset brings no
reports (the Xuanwu extract), some are made at buildings picked by a seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import cases
from api.storage import models

DEMO = cases.Actor("demo", "admin")
#: (share of the routed cases, the actions taken in turn)
PLAN = [
    (0.15, ["accept"]),
    (0.15, ["accept", "start"]),
    (0.10, ["accept", "start", "resolve"]),
    (0.10, ["accept", "start", "resolve", "rate", "close"]),
    (0.05, ["accept", "escalate"]),
    (0.05, ["accept", "escalate", "escalate", "transfer"]),
    (0.05, ["supervise"]),
]
TEMPLATES = [
    ("environment.garbage", "{}门口垃圾堆放未及时清运"),
    ("safety_hazard.ebike_charging", "{}楼道内电动车违规充电"),
    ("dispute.neighbour", "{}邻里因楼上漏水发生纠纷"),
    ("city_appearance.illegal_ads", "{}墙面乱张贴小广告"),
    ("public_facility.streetlight", "{}路灯损坏不亮"),
    ("social_assistance.elderly_visit", "{}独居老人需要上门探访"),
]


def seed_cases(
    session: Session, *, count: int = 120, seed: int = 0, log: Callable[[str], None] = print
) -> None:
    """Route the stored reports (or make `count` at buildings), then advance a share of them."""
    routed = cases.route_unrouted(session)
    if not routed:
        routed = _make_reports(session, count=count, seed=seed)
    ids = list(
        session.execute(
            select(models.Case.id)
            .where(models.Case.status == "dispatched")
            .order_by(models.Case.id)
        ).scalars()
    )
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    start, moved = 0, 0
    for share, actions in PLAN:
        chunk = ids[start : start + round(share * len(ids))]
        start += len(chunk)
        for case_id in chunk:
            for action in actions:
                version = session.get(models.Case, case_id, populate_existing=True).version
                step = cases.Step(
                    action,
                    version,
                    note="演示数据",
                    rating=5 if action == "rate" else None,
                    department="城市管理局" if action == "transfer" else None,
                )
                cases.transition(session, case_id, step, actor=DEMO)
            moved += 1
    log(f"sample cases: {routed:,} routed, {moved:,} carried along the workflow")


def _make_reports(session: Session, *, count: int, seed: int) -> int:
    B = models.Building
    rows = session.execute(
        select(B.building_id, func.coalesce(B.name, B.address, B.building_id)).order_by(B.id)
    ).all()
    if not rows:
        return 0
    rng = np.random.default_rng(seed)
    made = 0
    for i in rng.choice(len(rows), size=min(count, len(rows)), replace=False):
        building, place = rows[int(i)]
        code, text = TEMPLATES[made % len(TEMPLATES)]
        report = cases.NewCase(category=code, description=text.format(place), building_id=building,
                               intake="demo")  # fmt: skip
        try:
            cases.create_case(session, report, actor=DEMO)
        except cases.InputError:
            continue  # a building outside every area
        made += 1
    return made
