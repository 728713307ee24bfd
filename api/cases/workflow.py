"""The closed loop of a case as data: statuses, actions, who may take them; `advance()` is pure.

Nothing here touches FastAPI or the database. The loop (事件闭环):

    reported ─dispatch→ dispatched ─accept→ accepted ─start→ in_progress ─resolve→ resolved
    (grid worker)  ─escalate→ escalated_community ─escalate→ escalated_street (流转交办)
    ─transfer→ transferred (to a department) ─claim→ claimed ─start/resolve→ … resolved
    resolved ─rate→ rated ─close→ closed

plus send back (退单: a worker returns a dispatched case to the triage queue, a department a
transferred one to the street office), reassign (改派), supervise (督办: a flag, no status
change), note (进展反馈: a progress note from whoever handles the case, no status change),
reopen (a resolution not accepted) and dismiss (duplicates, not a case: closed).
`system` is the service itself (automatic dispatch at intake, re-routing after grid redraws).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

STATUSES = (
    "reported", "dispatched", "accepted", "in_progress", "escalated_community",
    "escalated_street", "transferred", "claimed", "resolved", "rated", "closed",
)  # fmt: skip
#: Statuses counted as done for overdue flags and open load.
DONE = frozenset({"resolved", "rated", "closed"})
OPEN = frozenset(STATUSES) - DONE

GRID = ("grid_worker", "grid_leader")
COMMUNITY = ("community_admin",)
STREET = ("street_admin",)
DEPT = ("department",)
ADMIN = ("admin",)
SYSTEM = ("system",)
RESIDENT = ("resident", "public")  # the reporter, shown by the case's receipt token


@dataclass(frozen=True)
class Rule:
    """One row of the table: `action` takes a case from any of `sources` to `target`
    (None: the status stays) when taken by one of `roles`."""

    action: str
    sources: tuple[str, ...]
    target: str | None
    roles: tuple[str, ...]
    label: str  # Chinese name of the step


_OPEN_NOT_DEPT = ("dispatched", "accepted", "in_progress", "escalated_community")
_GRID_STAGE = ("reported", "dispatched", "accepted", "in_progress")
_ABOVE_GRID = ("escalated_community", "escalated_street", "transferred", "claimed")
_HANDLING = ("accepted", "in_progress", *_ABOVE_GRID)

TRANSITIONS: tuple[Rule, ...] = (
    Rule("dispatch", ("reported",), "dispatched", COMMUNITY + STREET + ADMIN + SYSTEM, "派单"),
    Rule(
        "dispatch_department",
        ("reported",),
        "transferred",
        COMMUNITY + STREET + ADMIN + SYSTEM,
        "直派部门",
    ),  # fmt: skip
    Rule("accept", ("dispatched",), "accepted", GRID + ADMIN, "接单"),
    Rule("send_back", ("dispatched",), "reported", GRID + ADMIN, "退单"),
    Rule("start", ("accepted", "claimed"), "in_progress", GRID + DEPT + ADMIN, "开始处置"),
    Rule(
        "resolve", ("accepted", "in_progress", "claimed"), "resolved", GRID + DEPT + ADMIN, "办结"
    ),
    Rule("escalate", ("accepted", "in_progress"), "escalated_community", GRID + ADMIN, "上报社区"),
    Rule("resolve", ("escalated_community",), "resolved", COMMUNITY + ADMIN, "社区办结"),
    Rule("escalate", ("escalated_community",), "escalated_street", COMMUNITY + ADMIN, "流转街道"),
    Rule("resolve", ("escalated_street",), "resolved", STREET + ADMIN, "街道办结"),
    Rule("transfer", ("escalated_street",), "transferred", STREET + ADMIN, "交办部门"),
    Rule("claim", ("transferred",), "claimed", DEPT + ADMIN, "部门认领"),
    Rule("send_back", ("transferred",), "escalated_street", DEPT + ADMIN, "部门退单"),
    Rule("reassign", _OPEN_NOT_DEPT, "dispatched", GRID[1:] + COMMUNITY + STREET + ADMIN, "改派"),
    Rule("reassign", ("transferred", "claimed"), "transferred", STREET + ADMIN, "改派部门"),
    Rule("reroute", _GRID_STAGE, "dispatched", SYSTEM + ADMIN, "网格调整改派"),
    Rule("reroute", _ABOVE_GRID, None, SYSTEM + ADMIN, "网格调整改派"),
    Rule("supervise", tuple(sorted(OPEN)), None, COMMUNITY + STREET + ADMIN, "督办"),
    Rule("note", _HANDLING, None, GRID + DEPT + COMMUNITY + STREET + ADMIN, "进展反馈"),
    Rule("reopen", ("resolved",), "dispatched", COMMUNITY + STREET + RESIDENT + ADMIN, "重新办理"),
    Rule("rate", ("resolved",), "rated", RESIDENT + ADMIN, "评价"),
    Rule("close", ("resolved", "rated"), "closed", COMMUNITY + STREET + ADMIN + SYSTEM, "结案"),
    Rule("dismiss", ("reported", "dispatched"), "closed", COMMUNITY + STREET + ADMIN, "不予受理"),
)
ACTIONS = tuple(dict.fromkeys(r.action for r in TRANSITIONS))
#: actions a reporter (receipt holder) may take only within a window after the case was
#: resolved: action → the setting that gives the window in days
REPORTER_WINDOWS = {"reopen": "report_reopen_days"}


class TransitionError(ValueError):
    """The action cannot be taken from this status; `allowed` lists what the role can do."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed

    @property
    def extra(self) -> dict:
        return {"allowed": self.allowed}


class RoleError(PermissionError):
    """The action is legal from this status, but not for this role."""

    def __init__(self, message: str, roles: list[str]) -> None:
        super().__init__(message)
        self.roles = roles


@dataclass(frozen=True)
class CaseState:
    """What the table decides on and changes: the status and the 督办 flag."""

    status: str
    supervised: bool = False


def allowed_actions(status: str, role: str | None = None) -> list[str]:
    """Actions possible from `status` (for `role` when given), in table order, no repeats."""
    return list(
        dict.fromkeys(
            r.action
            for r in TRANSITIONS
            if status in r.sources and (role is None or role in r.roles)
        )
    )


def rule_for(status: str, action: str) -> Rule | None:
    return next((r for r in TRANSITIONS if r.action == action and status in r.sources), None)


def advance(state: CaseState, action: str, role: str) -> CaseState:
    """The state after `role` takes `action`.

    Raises TransitionError (with the allowed actions) when the action is unknown or not
    possible from this status, RoleError when `role` may not take it.

    Examples
    --------
    >>> advance(CaseState("dispatched"), "accept", "grid_worker")
    CaseState(status='accepted', supervised=False)
    >>> advance(CaseState("accepted"), "supervise", "street_admin").supervised
    True
    """
    if state.status not in STATUSES:
        msg = f"unknown status {state.status!r}"
        raise TransitionError(msg, [])
    rule = rule_for(state.status, action)
    if rule is None:
        allowed = allowed_actions(state.status, role)
        what = "unknown action" if action not in ACTIONS else "not possible"
        msg = (
            f"{what} {action!r} from status {state.status!r}; "
            f"allowed for {role}: {', '.join(allowed) or 'none'}"
        )
        raise TransitionError(msg, allowed)
    if role not in rule.roles:
        msg = f"role {role!r} may not {action} a case in status {state.status!r}"
        raise RoleError(msg, list(rule.roles))
    if action == "supervise":
        return replace(state, supervised=True)
    if rule.target is None:
        return state
    return replace(state, status=rule.target)


def is_overdue(due_at: datetime | None, *, now: datetime, resolved_at: datetime | None) -> bool:
    """Past its deadline: not resolved by `due_at` (resolved late counts as overdue too)."""
    if due_at is None:
        return False
    return (resolved_at or now) > due_at


def table() -> list[dict]:
    """The table as JSON-ready rows (for the API docs and the UI)."""
    return [
        {
            "action": r.action,
            "label": r.label,
            "from": list(r.sources),
            "to": r.target,
            "roles": list(r.roles),
        }
        for r in TRANSITIONS
    ]
