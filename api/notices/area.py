"""The area of a notice (a district, street offices, communities, grids or a drawn polygon)
resolved to the current grid-level grids it covers, and who may send to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.accounts.roles import Principal, Role
from api.errors import ForbiddenError
from geo.errors import InputError

SENDER_ROLES = (Role.admin, Role.street_admin)

# current grid-level grids with their community and street codes
GRIDS = """
SELECT g.code, g.geom, c.code AS community, s.code AS street
FROM grids g JOIN communities c ON c.id = g.community_id
LEFT JOIN streets s ON s.id = c.street_id
WHERE g.level = 'grid' AND g.valid_to IS NULL
"""


@dataclass(frozen=True)
class Area:
    """What the sender picked; the union of all parts is the notice's area."""

    district: str | None = None
    streets: list[str] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)
    grids: list[str] = field(default_factory=list)
    polygon: BaseGeometry | None = None

    def as_json(self) -> dict:
        return {
            "district": self.district,
            "streets": self.streets,
            "communities": self.communities,
            "grids": self.grids,
            "polygon": self.polygon is not None,
        }


def _unknown(session: Session, table: str, codes: list[str]) -> list[str]:
    found = session.execute(
        text(f"SELECT code FROM {table} WHERE code = ANY(:codes)"), {"codes": codes}
    ).scalars()
    return sorted(set(codes) - set(found))


def _check_codes(session: Session, area: Area) -> None:
    problems = []
    for table, codes, zh in (
        ("streets", area.streets, "街道"),
        ("communities", area.communities, "社区"),
    ):
        if codes and (bad := _unknown(session, table, codes)):
            problems.append(f"未知的{zh}编码 {', '.join(bad)} (unknown {table}: {', '.join(bad)})")
    if area.grids:
        current = session.execute(
            text(f"SELECT code FROM ({GRIDS}) g WHERE code = ANY(:codes)"), {"codes": area.grids}
        ).scalars()
        if bad := sorted(set(area.grids) - set(current)):
            problems.append(f"未知的网格编码 {', '.join(bad)} (unknown grids: {', '.join(bad)})")
    if problems:
        raise InputError("；".join(problems))


def resolve(session: Session, area: Area) -> list[tuple[str, str, str | None]]:
    """(grid code, community code, street code) of every current grid in the area, by code;
    InputError for unknown codes or an area that covers no grid."""
    if not (area.district or area.streets or area.communities or area.grids or area.polygon):
        raise InputError("请选择通知范围：全区、街道、社区、网格或在地图上画出 (pick an area)")
    _check_codes(session, area)
    wkt = area.polygon.wkt if area.polygon is not None else None
    rows = session.execute(
        text(
            f"SELECT a.code, a.community, a.street FROM ({GRIDS}) a "
            "WHERE left(a.code, 6) = :district OR a.street = ANY(:streets) "
            "OR a.community = ANY(:communities) OR a.code = ANY(:grids) "
            # the drawn polygon takes the grids whose interior it overlaps, not those it touches
            "OR (CAST(:wkt AS text) IS NOT NULL "
            "    AND ST_Relate(a.geom, ST_GeomFromText(:wkt, 4326), 'T********')) "
            "ORDER BY a.code"
        ),
        {
            "district": area.district or "",
            "streets": area.streets,
            "communities": area.communities,
            "grids": area.grids,
            "wkt": wkt,
        },
    ).all()
    if not rows:
        raise InputError("所选范围内没有网格 (the area holds no grid)")
    return [tuple(r) for r in rows]


def check_sender(user: Principal, area: Area, grids: list[tuple[str, str, str | None]]) -> None:
    """An admin sends anywhere; a street admin only inside their own street office."""
    if user.role is Role.admin:
        return
    if user.role is not Role.street_admin or not user.street_code:
        raise ForbiddenError(
            f"只有街道管理员和管理员可以发送通知 (the role {user.role} may not send notices)"
        )
    outside = sorted({code for code, _, street in grids if street != user.street_code})
    if area.district or outside:
        shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise ForbiddenError(
            f"街道管理员只能向本街道（{user.street_code}）发送通知，"
            f"范围外的网格：{shown or '全区'} (a street admin sends within their own street only)"
        )
