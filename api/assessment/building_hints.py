"""Telling a worker's unnamed buildings apart: the nearest named road or POI within 150 m
(杨将军巷旁, 近南京市第九初级中学), and where two buildings still read the same, each one's
number in its grid (网格内第 12 栋, counted from north to south, then west to east); in
Chinese and English ("by 杨将军巷", "building 12 in the grid")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

NEAR_M = 150

# the box prefilter (index-usable) is widened to the metres a degree of longitude holds here
_PLACES = text("""
WITH wanted AS (
  SELECT b.building_id, b.location, w.grid_code,
         ST_Expand(b.location, :near / (111320 * cos(radians(ST_Y(b.location))))) AS box
  FROM unnest(CAST(:ids AS text[]), CAST(:grids AS text[])) AS w(building_id, grid_code)
  JOIN buildings b ON b.building_id = w.building_id
)
SELECT w.building_id, w.grid_code,
  (SELECT r.name FROM roads r
    WHERE r.geom && w.box AND btrim(coalesce(r.name, '')) <> ''
      AND ST_DWithin(r.geom::geography, w.location::geography, :near)
    ORDER BY ST_Distance(r.geom::geography, w.location::geography), r.road_id LIMIT 1) AS road,
  (SELECT p.name FROM pois p
    WHERE p.geom && w.box AND btrim(coalesce(p.name, '')) <> ''
      AND ST_DWithin(p.geom::geography, w.location::geography, :near)
    ORDER BY ST_Distance(p.geom::geography, w.location::geography), p.poi_id LIMIT 1) AS poi,
  (SELECT n.number FROM (
      SELECT o.building_id, row_number() OVER (
               ORDER BY ST_Y(o.location) DESC, ST_X(o.location), o.building_id) AS number
      FROM grids g JOIN buildings o ON ST_Intersects(g.geom, o.location)
      WHERE g.code = w.grid_code AND g.level = 'grid' AND g.valid_to IS NULL) n
    WHERE n.building_id = w.building_id) AS number
FROM wanted w
""")


@dataclass(frozen=True)
class Place:
    """Where an unnamed building is: the named road or POI nearest it, its number in a grid."""

    road: str | None
    poi: str | None
    number: int | None

    @property
    def near(self) -> tuple[str, str]:
        """(Chinese, English): 杨将军巷旁 / by 杨将军巷, 近… / near …, or empty."""
        if self.road:
            return f"{self.road.strip()}旁", f"by {self.road.strip()}"
        return (f"近{self.poi.strip()}", f"near {self.poi.strip()}") if self.poi else ("", "")


def find_places(
    session: Session, buildings: Sequence[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Place]:
    """Place of each (building_id, grid_code); a building no longer stored is left out."""
    if not buildings:
        return {}
    rows = session.execute(_PLACES, {
        "ids": [b for b, _ in buildings], "grids": [g for _, g in buildings], "near": NEAR_M,
    }).all()  # fmt: skip
    return {(b, g): Place(road, poi, number) for b, g, road, poi, number in rows}


def told_apart(
    titles: Mapping[tuple[str, str | None], tuple[str, str]],
    places: Mapping[tuple[str, str | None], Place],
) -> dict[tuple[str, str | None], tuple[str, str]]:
    """Each (building_id, grid_code)'s (Chinese, English) title, with its place's road or POI
    where it has one, and its number in the grid where another building would still read the
    same in Chinese.

    Examples
    --------
    >>> told_apart({("a", "g"): ("未命名楼栋（住宅）", "Unnamed building (residential)")},
    ...            {("a", "g"): Place("杨将军巷", None, 3)})
    {('a', 'g'): ('未命名楼栋（住宅），杨将军巷旁', 'Unnamed building (residential), by 杨将军巷')}
    """
    near = {}
    for key, (zh, en) in titles.items():
        near_zh, near_en = places[key].near if key in places else ("", "")
        near[key] = "，".join(filter(None, [zh, near_zh])), ", ".join(filter(None, [en, near_en]))
    buildings_by_text = defaultdict(set)
    for (building, _), (zh, _) in near.items():
        buildings_by_text[zh].add(building)
    told = {}
    for key, (zh, en) in near.items():
        number = places[key].number if key in places else None
        if len(buildings_by_text[zh]) > 1 and number:
            zh, en = f"{zh}，网格内第 {number} 栋", f"{en}, building {number} in the grid"
        told[key] = zh, en
    return told
