"""Building leads (楼栋长) answer for their buildings: a building named by its id or its
address, checked to lie in the lead's grid (the grid's members), kept as building ids."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InputError

# the buildings a reference names (by id, else by exact address), and whether the grid holds it
FIND = """
SELECT b.building_id,
       EXISTS (SELECT 1 FROM grids g, jsonb_array_elements(g.members) m
               WHERE g.code = ANY(:grids) AND g.level = 'grid' AND g.valid_to IS NULL
                 AND m->>0 = b.building_id) AS inside
FROM buildings b
WHERE b.building_id = :ref
   OR (b.address = :ref AND NOT EXISTS (SELECT 1 FROM buildings x WHERE x.building_id = :ref))
ORDER BY b.building_id
"""


def lead_buildings(session: Session, refs: list[str], *, grid_codes: list[str]) -> list[str]:
    """The building ids of `refs` (building ids or addresses), in the order given, each once.
    InputError for a reference that names no building, several buildings, or one outside
    the grids `grid_codes` (grid-level codes)."""
    found: list[str] = []
    problems = []
    for ref in (r.strip() for r in refs):
        if not ref:
            continue
        rows = session.execute(text(FIND), {"ref": ref, "grids": grid_codes}).all()
        if not rows:
            problems.append(f"找不到楼栋 {ref}（按编号或地址） (no building {ref!r})")
        elif len(rows) > 1:
            ids = ", ".join(r.building_id for r in rows[:5])
            problems.append(f"地址 {ref} 对应多栋楼（{ids}），请填楼栋编号 (ambiguous address)")
        elif not rows[0].inside:
            where = "、".join(grid_codes)
            problems.append(f"楼栋 {ref} 不在网格 {where} 内 (building not in the grid)")
        elif rows[0].building_id not in found:
            found.append(rows[0].building_id)
    if problems:
        raise InputError("；".join(problems))
    return found


def set_worker_buildings(session: Session, worker_code: str, refs: list[str], *, actor) -> list:
    """Register the buildings of the part-time worker `worker_code` (a 楼栋长 in the workers
    table), each in one of their grids; audited. InputError for another kind of worker."""
    from api.accounts import audit

    worker = session.execute(
        text(
            "SELECT w.id, w.role, array_agg(DISTINCT left(wg.grid_code, 15)) "
            "FILTER (WHERE wg.grid_code IS NOT NULL) FROM workers w "
            "LEFT JOIN worker_grids wg ON wg.worker_id = w.id WHERE w.worker_id = :w "
            "GROUP BY w.id"
        ),
        {"w": worker_code},
    ).one_or_none()
    if worker is None or worker.role != "part_time":
        msg = (f"只有兼职网格员（楼栋长）可以登记楼栋，{worker_code} 不是 "
               f"(--building is for part-time workers)")  # fmt: skip
        raise InputError(msg)
    found = lead_buildings(session, refs, grid_codes=list(worker[2] or []))
    session.execute(
        text("UPDATE workers SET building_ids = :b WHERE id = :id"), {"b": found, "id": worker.id}
    )
    audit.record(session, actor, "worker.buildings", "worker", worker_code, {"after": found})
    return found
