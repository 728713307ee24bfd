"""Storing imported cases in the file's order: least-load assignment (numpy where a grid has
one worker of its own), ids from the sequence, and the COPY lines of the cases (streamed while
later partitions are prepared) and of their events (one COPY after), in the caller's
transaction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.cases import dispatch
from api.cases.import_rows import HEAD, TAIL, Prepared, copy_text
from api.storage import models

EVENT_COLUMNS = ("case_id", "actor", "from_status", "to_status", "kind", "action", "at", "data")
#: Ids for every row of the file, drawn at once before the COPY (no query can run during it);
#: the rows left out leave a gap in the sequence, as a rolled-back intake does.
NEXT_IDS = text(
    "SELECT array_agg(nextval(pg_get_serial_sequence('cases', 'id')) ORDER BY g) "
    "FROM generate_series(1, :n) g"
)
CASES_SQL = f"COPY cases ({', '.join((*HEAD, *TAIL))}) FROM STDIN"
EVENTS_SQL = f"COPY case_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


class Assigner:
    """Least-open-load assignment over all grids (the rule of api.cases.dispatch.choose_worker),
    in the file's order, across partitions."""

    def __init__(self, rows: list[tuple[str, int, str, str, int]]) -> None:
        """`rows`: (grid code, workers.id, worker_id, role, open cases) of on-duty workers."""
        by_grid: dict[str, list] = {}
        self.load: dict[int, int] = {}
        for grid, pk, wid, role, load in rows:
            by_grid.setdefault(grid, []).append((pk, wid, role))
            self.load[pk] = load
        #: each grid's candidates, best first at equal load (doers, else its leaders)
        self.candidates: dict[str, list[int]] = {}
        for grid, workers in by_grid.items():
            doers = [w for w in workers if w[2] in dispatch.WORKER_RANK]
            if doers:
                doers.sort(key=lambda w: (dispatch.WORKER_RANK[w[2]], w[1]))
            else:
                doers = sorted((w for w in workers if w[2] == "grid_leader"), key=lambda w: w[1])
            if doers:
                self.candidates[grid] = [w[0] for w in doers]
        grids_of = pd.Series([pk for c in self.candidates.values() for pk in c]).value_counts()
        #: grids whose one candidate is a candidate nowhere else: all their cases go to them
        self.alone = {
            g: c[0] for g, c in self.candidates.items() if len(c) == 1 and grids_of[c[0]] == 1
        }

    @classmethod
    def of(cls, session: Session) -> Assigner:
        """The on-duty workers of every grid with their open cases now."""
        W, WG = models.Worker, models.WorkerGrid
        query = select(WG.grid_code, W.id, W.worker_id, W.role, dispatch.open_load())
        return cls(
            [
                tuple(r)
                for r in session.execute(query.join(W, W.id == WG.worker_id).where(W.on_duty))
            ]
        )

    def assign(self, grids: np.ndarray) -> np.ndarray:
        """The chosen worker (workers.id, or None) of each row's grid, rows in the file's
        order; each choice raises that worker's load for the rows after it."""
        out = np.full(len(grids), None, dtype=object)
        if not len(grids):
            return out
        codes, uniques = pd.factorize(grids)
        sole = np.array([self.alone.get(g) for g in uniques], dtype=object)
        out[:] = sole[codes]
        for pk, n in zip(sole, np.bincount(codes, minlength=len(uniques)), strict=True):
            if pk is not None:
                self.load[pk] += int(n)
        load = self.load
        for k in np.flatnonzero(out == None):  # noqa: E711 (elementwise)
            workers = self.candidates.get(grids[k])
            if workers:
                pk = min(workers, key=lambda w: load[w])  # the first of the least loaded
                load[pk] += 1
                out[k] = pk
        return out


def decide(prepared: Prepared, keep: np.ndarray, assigner: Assigner) -> tuple:
    """Status, queue and assignee of the kept rows, as single intake decides them."""
    grid, routing = prepared.grid[keep], prepared.routing[keep]
    dept = prepared.department[keep]
    n = len(grid)
    status = np.full(n, "reported", dtype=object)
    queue = routing.copy()
    to_dept = dept != None  # noqa: E711 (elementwise)
    status[to_dept], queue[to_dept] = "transferred", "department"
    gridded = ~to_dept & (grid != None)  # noqa: E711
    assignee = np.full(n, None, dtype=object)
    assignee[gridded] = assigner.assign(grid[gridded])
    picked = gridded & (assignee != None)  # noqa: E711
    status[picked], queue[picked] = "dispatched", "grid"
    queue[gridded & ~picked] = "community"
    return status, queue, assignee


def lines(prepared: Prepared, keep: np.ndarray, ids: np.ndarray, assigner: Assigner) -> tuple:
    """The kept rows' cases and events as COPY text, and their statuses."""
    status, queue, assignee = decide(prepared, keep, assigner)
    case_id = ids.astype(str).tolist()
    tail = prepared.case_tail[keep]
    head = zip(case_id, status, copy_text(assignee), copy_text(queue), tail, strict=True)
    cases = "".join(map("\t".join, head))
    events = [f"{i}\t{c}" for i, c in zip(case_id, prepared.created[keep], strict=True)]
    dept, when = prepared.department[keep], prepared.when[keep]
    went = {
        d: json.dumps({"assignee_id": None, "department": d}, ensure_ascii=False) for d in set(dept)
    }
    went = dict(zip(went, copy_text(list(went.values())), strict=True))  # as COPY text
    for k in np.flatnonzero(status != "reported"):
        a = assignee[k]
        data = went[dept[k]] if a is None else f'{{"assignee_id": {a}, "department": null}}'
        action = "dispatch_department" if status[k] == "transferred" else "dispatch"
        events[k] += (
            f"{case_id[k]}\tsystem\treported\t{status[k]}\ttransition\t{action}\t{when[k]}\t"
            f"{data}\n"
        )
    return cases, "".join(events), status


def draw_ids(session: Session, n: int) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(session.execute(NEXT_IDS, {"n": n}).scalar_one(), dtype=np.int64)


def raw_cursor(session: Session):
    return session.connection().connection.driver_connection.cursor()


def copy_events(session: Session, chunks: list[str]) -> None:
    with raw_cursor(session) as cursor, cursor.copy(EVENTS_SQL) as copy:
        for chunk in chunks:
            copy.write(chunk)
