"""Cases (事件): intake, dispatch, transitions through the closed loop, queries, bulk import and
re-routing after grid redraws. The names below are the domain's public face; `dispatch`,
`queries`, `workflow` and `imports` are imported as modules."""

from api.cases.actors import SEES_ALL, SYSTEM, Actor, may_see, visible_filter
from api.cases.intake import NewCase, category, create_case, locate, route_unrouted
from api.cases.reroute import move_retired_assignments, reroute_open_cases
from api.cases.rows import load_case
from api.cases.transitions import IllegalTransition, Step, transition

__all__ = [
    "SEES_ALL",
    "SYSTEM",
    "Actor",
    "IllegalTransition",
    "NewCase",
    "Step",
    "category",
    "create_case",
    "load_case",
    "locate",
    "may_see",
    "move_retired_assignments",
    "reroute_open_cases",
    "route_unrouted",
    "transition",
    "visible_filter",
]
