"""The transition table: every legal step, every illegal one, roles; the category catalog."""

from __future__ import annotations

import pytest

from api.cases import workflow
from api.cases.workflow import CaseState, RoleError, TransitionError, advance
from data.catalogs import case_categories

LEGAL = [(r, s) for r in workflow.TRANSITIONS for s in r.sources]


@pytest.mark.parametrize(("rule", "source"), LEGAL, ids=[f"{r.action}:{s}" for r, s in LEGAL])
def test_each_legal_transition(rule, source):
    for role in rule.roles:
        after = advance(CaseState(source), rule.action, role)
        assert after.status == (rule.target or source)
    outsider = next(
        r for r in ("public", "planner", "department", "grid_worker") if r not in rule.roles
    )
    with pytest.raises(RoleError):
        advance(CaseState(source), rule.action, outsider)


ILLEGAL = [
    (status, action)
    for status in workflow.STATUSES
    for action in workflow.ACTIONS
    if workflow.rule_for(status, action) is None
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=[f"{a}:{s}" for s, a in ILLEGAL])
def test_each_illegal_transition_lists_the_allowed(status, action):
    with pytest.raises(TransitionError) as info:
        advance(CaseState(status), action, "admin")
    assert info.value.allowed == workflow.allowed_actions(status, "admin")
    assert action not in info.value.allowed


def test_unknown_action_and_status():
    with pytest.raises(TransitionError, match="unknown action"):
        advance(CaseState("dispatched"), "teleport", "admin")
    with pytest.raises(TransitionError, match="unknown status"):
        advance(CaseState("lost"), "accept", "admin")


def test_the_whole_loop_through_a_department():
    state = CaseState("reported")
    steps = [
        ("dispatch", "system"), ("accept", "grid_worker"), ("start", "grid_worker"),
        ("escalate", "grid_worker"), ("escalate", "community_admin"),
        ("transfer", "street_admin"), ("claim", "department"), ("start", "department"),
        ("resolve", "department"), ("rate", "resident"), ("close", "community_admin"),
    ]  # fmt: skip
    seen = []
    for action, role in steps:
        state = advance(state, action, role)
        seen.append(state.status)
    assert seen[-1] == "closed" and "transferred" in seen and "claimed" in seen
    assert workflow.allowed_actions("closed") == []


def test_supervise_sets_the_flag_only():
    after = advance(CaseState("in_progress"), "supervise", "street_admin")
    assert after == CaseState("in_progress", supervised=True)


def test_overdue():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 2, tzinfo=UTC)
    due = now - timedelta(hours=1)
    assert workflow.is_overdue(due, now=now, resolved_at=None)
    assert not workflow.is_overdue(due, now=now, resolved_at=due - timedelta(minutes=1))
    assert workflow.is_overdue(due, now=now, resolved_at=due + timedelta(minutes=1))
    assert not workflow.is_overdue(None, now=now, resolved_at=None)


def test_catalog_fields():
    cats = case_categories()
    tops = {c["code"] for c in cats.values() if c["parent"] is None}
    assert {"party_building", "civilization", "social_security", "environment", "work_safety",
            "dispute", "safety_hazard", "government_service", "social_assistance",
            "city_appearance"} <= tops  # fmt: skip
    for c in cats.values():
        assert c["level"] in ("grid", "community", "street", "department")
        assert c["priority"] in ("urgent", "high", "normal", "low")
        assert c["deadline_hours"] > 0 and c["department"] and c["name"] and c["name_en"]
        assert c["to_department"] == (c["level"] == "department")
    assert cats["work_safety.gas"]["to_department"] and cats["dispute.neighbour"]["level"] == "grid"
