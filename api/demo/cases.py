"""Sample cases for `wangge demo`: the dataset's reports routed, and some carried along the loop.

Deterministic: the same data give the same cases and statuses. Where a dataset brings no
reports (the Xuanwu extract), some are made at buildings picked by a seeded generator, worded
from names and addresses (never ids) and dated relative to the day the demo runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import cases
from api.demo.places import report_places
from api.storage import ingest as store
from api.storage import models
from data.catalogs import case_categories

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
#: (category, description): {at} a spot outdoors, {building} a building; see places.py
TEMPLATES = [
    ("environment.garbage", "{at}垃圾堆放未及时清运"),
    ("safety_hazard.ebike_charging", "{building}楼道内电动车违规充电"),
    ("dispute.neighbour", "{building}居民因楼上漏水发生邻里纠纷"),
    ("city_appearance.illegal_ads", "{at}墙面乱张贴小广告"),
    ("public_facility.streetlight", "{at}路灯损坏不亮"),
    ("social_assistance.elderly_visit", "{building}独居老人需要上门探访"),
    ("public_facility.manhole", "{at}人行道井盖缺失"),
    ("city_appearance.bike_parking", "{at}共享单车乱停放，占用人行道"),
]
#: Share of the made reports whose deadline has just passed when the demo starts.
JUST_OVERDUE = 0.15


def seed_cases(
    session: Session, *, count: int = 60, seed: int = 0, log: Callable[[str], None] = print
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


def _make_reports(session: Session, *, count: int, seed: int, now: datetime | None = None) -> int:
    """`count` reports at buildings inside a community, worded from the places around them,
    reported in the last days (a few just past their deadline), then routed."""
    spots = report_places(session)
    if spots.empty:
        return 0
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(spots), size=min(count, len(spots)), replace=False)
    rows = []
    for n, i in enumerate(picked):
        spot = spots.iloc[int(i)]
        code, text = TEMPLATES[n % len(TEMPLATES)]
        rows.append(
            {"case_id": f"demo-{n + 1:04d}", "category": code,
             "description": text.format(at=spot["at"], building=spot["building"]),
             "reported_at": now - _age(case_categories()[code]["deadline_hours"], rng),
             "building_id": spot["building_id"], "address": _address(spot["label"]),
             "geometry": spot.geometry}
        )  # fmt: skip
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=spots.crs)
    store.load_cases(session, frame.drop(columns=["building_id", "address"]), actor="demo")
    for row in rows:
        session.execute(
            update(models.Case)
            .where(models.Case.external_id == row["case_id"])
            .values(building_id=row["building_id"], address=row["address"])
        )
    return cases.route_unrouted(session)


def _address(label) -> str | None:
    """The building's address label, None where it has none (a missing value reads NaN)."""
    return label.strip() or None if isinstance(label, str) else None


def recent_reports(
    frame: gpd.GeoDataFrame, *, seed: int = 0, now: datetime | None = None
) -> gpd.GeoDataFrame:
    """The reports of a dataset dated as if they came in over the last days (see _age): a
    demo's open cases are then not overdue by months."""
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    hours = [case_categories()[c]["deadline_hours"] for c in frame["category"]]
    return frame.assign(reported_at=[now - _age(h, rng) for h in hours])


def _age(deadline_hours: float, rng: np.random.Generator) -> timedelta:
    """How long ago a report came in: within its deadline (at most four days), or for a few
    just past it (by up to 18 hours)."""
    if rng.random() < JUST_OVERDUE:
        return timedelta(hours=deadline_hours + rng.uniform(1, 18))
    return timedelta(hours=rng.uniform(0.5, min(0.9 * deadline_hours, 96)))
