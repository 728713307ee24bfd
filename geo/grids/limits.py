"""Limits an input already breaks, found before any division starts, each with what to change.

Errors stop the run: a code prefix that would need more than 999 grids (3-digit sequences), a
boundary polygon with no buildings, more than 999 polygons without a community code, or
grid bounds whose every household count is impossible to divide into micro-grids of the
micro bounds. Warnings do not: an area whose total no number of grids within the bounds can
hold (the engine then reports the grids out of bounds, as before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import require_crs
from geo.errors import InputError
from geo.grids.codes import area_code
from geo.grids.partition import choose_k
from geo.lookup import first_containing

MAX_SEQUENCE = 999  # a 3-digit sequence under one prefix


@dataclass(frozen=True)
class Breach:
    """One limit the input breaks: where, why and what to change (Chinese first)."""

    prefix: str
    reason: str
    error: bool  # stops the run; a warning lets the engine go on


class LimitError(InputError):
    """The input breaks limits that no division can meet; every error breach is listed."""

    def __init__(self, breaches: list[Breach]) -> None:
        self.breaches = breaches
        shown = "; ".join(b.reason for b in breaches[:5])
        rest = len(breaches) - 5
        more = f"; 另有 {rest} 处 (and {rest} more)" if rest > 0 else ""
        super().__init__(f"开始划分之前发现 (found before any division): {shown}{more}")


def check_limits(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    level: str,
    grid_bounds: tuple[int, int],
    micro_bounds: tuple[int, int],
) -> list[Breach]:
    """Breaches of `buildings` (with households) in each `boundary` polygon (optional `code`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> area = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 0.01, 0.01)], crs=4326)
    >>> homes = gpd.GeoDataFrame({"building_id": ["a"], "households": [400_000]},
    ...                          geometry=[shapely.Point(0.005, 0.005)], crs=4326)
    >>> [b.error for b in check_limits(homes, area, level="grid", grid_bounds=(300, 500),
    ...                                micro_bounds=(30, 50))]
    [True]
    """
    require_crs(buildings, name="buildings")
    require_crs(boundary, name="boundary")
    if buildings.crs != boundary.crs:
        buildings = buildings.to_crs(boundary.crs)
    breaches = _nesting(level, grid_bounds, micro_bounds)
    codes = boundary["code"] if "code" in boundary.columns else [None] * len(boundary)
    prefixes = [area_code(code, a) for a, code in enumerate(codes)]
    if len(prefixes) > MAX_SEQUENCE and any(len(p) != 12 for p in prefixes):
        breaches.append(
            Breach(
                "",
                f"{len(prefixes)} 个边界多边形中有的没有 12 位社区编码，占位编码最多编 999 个 "
                f"({len(prefixes)} polygons, some without a 12-digit community code: placeholder "
                "codes stop at 999): 请在边界的 code 列给出社区编码 (give each polygon its code)",
                True,
            )
        )
    geoms = buildings.geometry.to_numpy()
    try:
        anchors = shapely.point_on_surface(geoms)
    except shapely.errors.GEOSException:  # invalid footprints: the engine repairs them too
        anchors = shapely.point_on_surface(shapely.make_valid(geoms))
    area_of = first_containing(anchors, boundary.geometry.to_numpy())
    inside = area_of >= 0
    n = len(boundary)
    counts = np.bincount(area_of[inside], minlength=n)
    households = np.bincount(
        area_of[inside], weights=buildings["households"].to_numpy(dtype=float)[inside], minlength=n
    )
    top = micro_bounds if level == "micro" else grid_bounds
    for prefix, count, total in zip(prefixes, counts, households.astype(np.int64), strict=True):
        breaches += _area(prefix, int(count), int(total), top, micro=level == "micro")
    return breaches


def require_limits(breaches: list[Breach]) -> list[Breach]:
    """Raise LimitError if any breach is an error; else return the warnings."""
    errors = [b for b in breaches if b.error]
    if errors:
        raise LimitError(errors)
    return breaches


def _area(prefix: str, count: int, total: int, bounds, *, micro: bool) -> list[Breach]:
    lo, hi = bounds
    what, what_en = ("微网格", "micro-grids") if micro else ("网格", "grids")
    if count == 0:
        return [
            Breach(
                prefix,
                f"区域 {prefix} 内没有建筑 (no buildings inside area {prefix}): 检查边界与建筑是否"
                "重叠、坐标是否同为 WGS-84，或去掉这个边界 (check that they overlap and share "
                "a CRS, or leave this polygon out)",
                True,
            )
        ]
    k, why = choose_k(total, lo, hi)
    if k > MAX_SEQUENCE:
        return [
            Breach(
                prefix,
                f"区域 {prefix} 共 {total:,} 户，约需 {k:,} 个{what}，一个编码前缀下最多 999 个 "
                f"(area {prefix}: {total:,} households need about {k:,} {what_en}, a "
                "3-digit sequence holds at most 999): 请给出社区边界，按社区分开划分 (give "
                f"community boundaries), 或把每格户数调到约 {math.ceil(total / 999):,} 户以上 "
                "(or raise --min/--max to about that many households)",
                True,
            )
        ]
    if why is None:
        return []
    if total == 0:
        reason = f"区域 {prefix} 没有住户 (area {prefix} has no households): 它成为一个空的{what}"
        return [Breach(prefix, f"{reason} (it becomes one empty {what_en[:-1]})", False)]
    fewer, more = max(1, math.ceil(total / hi)), max(1, total // lo)
    hint = f"--min {total // fewer}" if total >= lo else f"--min {total}"
    if total >= lo:
        hint += f" 或 (or) --max {math.ceil(total / more)}"
    return [
        Breach(
            prefix,
            f"区域 {prefix} 共 {total:,} 户，分不成每格 {lo}–{hi} 户的{what} (area {prefix}: "
            f"{why}): 可改为 {hint} (the engine goes on and reports the grids out of bounds)",
            False,
        )
    ]


def _nesting(level: str, grid_bounds, micro_bounds) -> list[Breach]:
    """With both levels, some grid size in the grid bounds must divide into micro-grids."""
    if level != "both":
        return []
    (glo, ghi), (mlo, mhi) = grid_bounds, micro_bounds
    if choose_k(ghi, mlo, mhi)[0] > MAX_SEQUENCE:
        return [
            Breach(
                "",
                f"每个网格最多 {ghi} 户，微网格 {mlo}–{mhi} 户时一个网格下会超过 999 个微网格 "
                f"(grids of up to {ghi} households would hold over 999 micro-grids of "
                f"{mlo}–{mhi}): 调小 --max 或调大 --micro-min (lower --max or raise --micro-min)",
                True,
            )
        ]
    # a run of 10 × mhi sizes always holds a divisible one, so looking further adds nothing
    if any(choose_k(h, mlo, mhi)[1] is None for h in range(glo, min(ghi, glo + 10 * mhi) + 1)):
        return []
    return [
        Breach(
            "",
            f"网格 {glo}–{ghi} 户的任何户数都分不成 {mlo}–{mhi} 户的微网格 (no grid size in "
            f"{glo}–{ghi} divides into micro-grids of {mlo}–{mhi}): 放宽 --micro-min/--micro-max "
            "或网格的 --min/--max (widen the micro or grid bounds)",
            True,
        )
    ]
