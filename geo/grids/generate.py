"""Generate grids and micro-grids from buildings inside one or more boundary polygons.

Per boundary polygon: tessellate the land among buildings (cut by barrier roads), split
buildings too large for one micro-grid into parts by unit and floor, build the adjacency graph
of the cells, partition it (compounds that fit in one grid are kept whole), and dissolve the
cells of each region into its polygon. Micro-grids are partitioned inside each grid, so they
nest exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, utm_crs
from geo.errors import GeoError, InputError
from geo.grids.clean import fill_pinholes
from geo.grids.codes import area_code, sequence_codes
from geo.grids.footprints import clean_footprints, merge_stacked
from geo.grids.graph import (
    Graph,
    build_graph,
    components,
    connected_groups,
    contract,
    shared_edges,
    subgraph,
)
from geo.grids.inputs import require_buildings
from geo.grids.partition import (
    Problem,
    chain_partition,
    choose_k,
    partition,
    refine,
    repair,
    score,
    unavoidable,
    violation,
)
from geo.grids.parts import PART_HOUSEHOLDS, cut_area, join_parts
from geo.grids.split import (
    MIN_STRIP_M,
    describe_slots,
    drop_empty,
    footprint_first,
    piece_shares,
    slice_cell,
    slot_ranges,
    strip_count,
)
from geo.grids.tessellation import PRECISION_M, polygonal, tessellate
from geo.lookup import first_containing

LEVELS = ("grid", "micro", "both")
GRID_BOUNDS = (300, 500)
MICRO_BOUNDS = (30, 50)
BARRIER_CLASSES = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link",
        "rail", "railway", "light_rail", "narrow_gauge", "river", "canal", "stream", "riverbank",
        "water",
    }
)  # fmt: skip
NO_PARENT = "000"  # grid sequence in the codes of micro-grids generated without grids
BARRIER_COST = 0.2  # cutting along a road is cheap: grids should end there
COMPOUND_COST = 4.0  # cutting through a compound is dear
BUILDING_COST = 20.0  # cutting between parts of one building dearer still


@dataclass
class GridLayer:
    """The generated layer (EPSG:4326) and its report."""

    grids: gpd.GeoDataFrame
    report: dict = field(default_factory=dict)


CELL_FIELDS = ("geom", "b", "h", "e", "c", "part", "slots")


@dataclass
class _Cells:
    """The cells of one area and what lies on each."""

    geom: np.ndarray  # cell polygons (metres)
    building: np.ndarray  # row of the building in the area's frame, -1 for empty land
    households: np.ndarray
    enclosure: np.ndarray
    compound: np.ndarray  # compound index or -1
    part: np.ndarray  # part id (pieces of one part share it), -1 for empty land
    slots: np.ndarray  # (first, last) unit-floor slot of a building piece, (-1, -1) if whole


def generate_grids(
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    level: str = "grid",
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    map_areas: MapAreas | None = None,
    part_households: int = PART_HOUSEHOLDS,
) -> GridLayer:
    """Divide each boundary polygon into grids and/or micro-grids.

    Parameters
    ----------
    buildings : GeoDataFrame
        EPSG:4326 footprints or points with `building_id` and `households` (filled in; see
        geo.households.estimate_households), optionally `compound`.
    boundary : GeoDataFrame
        EPSG:4326 polygons, each divided on its own; `code` (12-digit community code) is used
        as the code prefix when present.
    roads : GeoDataFrame, optional
        Lines that grids should not cross where avoidable: those whose `class` is a major road,
        railway or waterway (every line, if there is no `class` column).
    level : {'grid', 'micro', 'both'}
    grid_bounds, micro_bounds : (int, int)
        Households per grid and per micro-grid.
    map_areas : callable, optional
        ``map_areas(divide_area, works)`` returns divide_area of each AreaWork, in order (the
        built-in map by default; a Dask map divides the areas in parallel, same result).
    part_households : int
        A boundary polygon holding more households is first cut into parts along its barrier
        lines (geo.grids.parts), each divided on its own; its codes stay one sequence.

    Returns
    -------
    GridLayer
        `grids`: one Polygon row per grid with code, level, parent_code, households, members
        (list of [building_id, households]), parts, within_bounds, polsby_popper, area_code;
        `report`: counts, quality measures and every infeasible part with its reason.
    """
    _check_inputs(buildings, boundary, roads, level, grid_bounds, micro_bounds)
    crs = utm_crs(boundary)
    b_m = clean_footprints(buildings.to_crs(crs).reset_index(drop=True))
    b_m, merged = merge_stacked(b_m)
    b_m = b_m.reset_index(drop=True)
    area_m = boundary.to_crs(crs).reset_index(drop=True)
    barriers = _barrier_lines(roads.to_crs(crs), area_m) if roads is not None else None
    compounds = _compound_index(b_m)
    anchors = shapely.point_on_surface(b_m.geometry.to_numpy())
    area_of = first_containing(anchors, area_m.geometry.to_numpy())

    report = _empty_report(level, grid_bounds, micro_bounds)
    report["buildings"] = int(len(buildings))
    report["buildings_merged"] = len(merged)  # stacked parts and duplicates, into the survivor
    report["merged"] = merged
    report["households"] = int(b_m["households"].sum())
    report["buildings_outside"] = b_m.loc[area_of < 0, "building_id"].astype(str).tolist()
    if "households_estimated" in b_m.columns:
        report["households_estimated_buildings"] = int(
            b_m["households_estimated"].fillna(False).sum()
        )
    works = area_works(
        area_m, b_m, compounds, barriers, area_of,
        level=level, grid_bounds=grid_bounds, micro_bounds=micro_bounds, most=part_households,
    )  # fmt: skip
    works = list(works)
    results = (map_areas or map)(divide_area, works)
    rows = join_parts([(w.prefix, w.part) for w in works], results, level=level)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs) if rows else _empty_frame(crs)
    for lvl in ("grid", "micro"):
        at = (frame["level"] == lvl).to_numpy()
        if at.any():
            frame.loc[at, "geometry"] = fill_pinholes(frame.geometry.to_numpy()[at])
    if len(frame):  # the score of the polygon as stored: filled cracks no longer count
        frame["polsby_popper"] = polsby_popper(frame.geometry.to_numpy())
    frame = frame.to_crs(4326)
    compound_households = np.bincount(
        compounds[compounds >= 0], weights=b_m["households"].to_numpy()[compounds >= 0]
    )
    fits = {int(c) for c in np.flatnonzero(compound_households <= grid_bounds[1])}
    frame = _summarise(frame, report, level, grid_bounds, micro_bounds, fits)
    return GridLayer(frame, report)


@dataclass(frozen=True)
class AreaWork:
    """One boundary polygon and what lies in it (metres): divided on its own, in any process."""

    prefix: str
    geom: shapely.Geometry
    buildings: gpd.GeoDataFrame
    compounds: np.ndarray
    barriers: np.ndarray | None  # only the lines that meet the polygon
    level: str
    grid_bounds: tuple[int, int]
    micro_bounds: tuple[int, int]
    part: int | None = None  # the part of a boundary cut into parts (geo.grids.parts)


MapAreas = Callable[[Callable[[AreaWork], list[dict]], Iterable[AreaWork]], Iterable[list[dict]]]


def area_works(
    area_m: gpd.GeoDataFrame,
    b_m: gpd.GeoDataFrame,
    compounds: np.ndarray,
    barriers: np.ndarray | None,
    area_of: np.ndarray,
    *,
    level: str,
    grid_bounds: tuple[int, int],
    micro_bounds: tuple[int, int],
    most: int = PART_HOUSEHOLDS,
) -> Iterator[AreaWork]:
    """One AreaWork per boundary polygon, in order, each with its own buildings; a polygon
    of more than `most` households gives one per part (geo.grids.parts.cut_area)."""
    codes = area_m["code"] if "code" in area_m.columns else pd.Series([None] * len(area_m))
    tree = shapely.STRtree(barriers) if barriers is not None and len(barriers) else None
    top = micro_bounds if level == "micro" else grid_bounds

    def lines_of(geom):  # lines that miss the polygon cut nothing (tessellation.enclosures)
        return barriers if tree is None else barriers[np.sort(tree.query(geom, "intersects"))]

    for a, geom in enumerate(area_m.geometry.to_numpy()):
        inside = np.flatnonzero(area_of == a)
        prefix, b = area_code(codes.iloc[a], a), b_m.iloc[inside].reset_index(drop=True)
        lines, parts = lines_of(geom), None
        if int(b["households"].sum()) > most:
            anchors = shapely.point_on_surface(b.geometry.to_numpy())
            parts = cut_area(geom, anchors, b["households"], lines, bounds=top, most=most)
        for k, (part, held) in enumerate(parts or [(geom, None)]):
            if held is not None:
                yield AreaWork(
                    prefix, part, b.iloc[held].reset_index(drop=True), compounds[inside][held],
                    lines_of(part), level, grid_bounds, micro_bounds, k,
                )  # fmt: skip
                continue
            yield AreaWork(
                prefix, geom, b, compounds[inside], lines, level, grid_bounds, micro_bounds,
            )  # fmt: skip


def divide_area(work: AreaWork) -> list[dict]:
    """The rows (metres) of one area's grids and micro-grids; an error names the area."""
    prefix = work.prefix
    try:
        rows = _divide_area(
            work.geom, work.buildings, work.compounds, work.barriers, prefix=prefix,
            level=work.level, grid_bounds=work.grid_bounds, micro_bounds=work.micro_bounds,
        )  # fmt: skip
    except InputError as exc:
        msg = f"区域 {prefix} (area {prefix}): {exc}"
        raise InputError(msg) from exc
    except (shapely.errors.GEOSException, ValueError, IndexError) as exc:
        msg = (
            f"区域 {prefix} 划分时几何运算出错 (geometry error while dividing area {prefix}): "
            f"{type(exc).__name__}: {exc}"
        )
        raise GeoError(msg) from exc
    # Rows reach another process as WKB, which keeps the coordinates but not the precision
    # grid GEOS attached to them, and fill_pinholes' set_precision then starts rings at other
    # vertices: dropping the grid here too gives the same bytes in one process or many.
    geoms = shapely.from_wkb(shapely.to_wkb([row["geometry"] for row in rows]))
    for row, geom in zip(rows, geoms, strict=True):
        row["geometry"] = geom
    return rows


def _check_inputs(buildings, boundary, roads, level, grid_bounds, micro_bounds) -> None:
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}, not {level!r}"
        raise InputError(msg)
    require_buildings(buildings)
    require_crs(boundary, name="boundary")
    if roads is not None:
        require_crs(roads, name="roads")
    for name, (lo, hi) in (("grid", grid_bounds), ("micro", micro_bounds)):
        if not (0 < lo <= hi):
            msg = f"{name} bounds must satisfy 0 < min <= max, got {lo}–{hi}"
            raise InputError(msg)
    if len(boundary) == 0:
        msg = "the boundary has no polygons"
        raise InputError(msg)
    kinds = set(boundary.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"the boundary must be polygons, got {sorted(kinds)}"
        raise InputError(msg)


def _barrier_lines(roads_m: gpd.GeoDataFrame, area_m: gpd.GeoDataFrame) -> np.ndarray:
    if "class" in roads_m.columns:
        roads_m = roads_m[roads_m["class"].astype(str).str.lower().isin(BARRIER_CLASSES)]
    lines = roads_m.geometry.to_numpy()
    lines = lines[shapely.get_type_id(lines) != 7]  # drop collections
    return lines[~shapely.is_empty(lines)] if len(lines) else lines


def _compound_index(b: gpd.GeoDataFrame) -> np.ndarray:
    if "compound" not in b.columns:
        return np.full(len(b), -1)
    values = b["compound"].astype(object).where(b["compound"].notna(), None)
    labels = {v: i for i, v in enumerate(sorted({str(v) for v in values if v not in (None, "")}))}
    codes = [labels.get(str(v), -1) if v not in (None, "") else -1 for v in values]
    return np.asarray(codes, dtype=np.int64)


# -- one area ------------------------------------------------------------------------------


def _divide_area(
    area: shapely.Geometry,
    b: gpd.GeoDataFrame,
    compounds: np.ndarray,
    barriers: np.ndarray | None,
    *,
    prefix: str,
    level: str,
    grid_bounds: tuple[int, int],
    micro_bounds: tuple[int, int],
) -> list[dict]:
    split_bounds = micro_bounds if level in ("micro", "both") else grid_bounds
    cells = _cells(area, b, compounds, barriers, split_bounds)
    graph = _graph(cells)
    top_bounds = micro_bounds if level == "micro" else grid_bounds
    top_level = "micro" if level == "micro" else "grid"
    labels, reasons = _partition_area(cells, graph, top_bounds, keep_compounds=top_level == "grid")
    columns = _Columns.of(b)  # once per area: a grid's regions read only their own buildings
    rows = _regions(cells, columns, labels, reasons, level=top_level, bounds=top_bounds)
    # micro-grids without grids above them get the grid sequence 000: codes stay 18 digits
    top_prefix = prefix + NO_PARENT if top_level == "micro" else prefix
    codes = sequence_codes(top_prefix, np.array([r["_xy"] for r in rows]).reshape(-1, 2))
    for row, code in zip(rows, codes, strict=True):
        row.update(code=code, parent_code=None, area_code=prefix)
    rows.sort(key=lambda r: r["code"])  # code order, not the partition's numbering
    if level != "both":
        return [_public(r) for r in rows]
    out = []
    for row in rows:
        nodes = row["_nodes"]
        sub_cells, micro_labels, micro_reasons = _divide_grid(
            _subset(cells, nodes), subgraph(graph, nodes), b, micro_bounds
        )
        micro = _regions(
            sub_cells, columns, micro_labels, micro_reasons, level="micro", bounds=micro_bounds
        )
        micro_codes = sequence_codes(
            row["code"], np.array([m["_xy"] for m in micro]).reshape(-1, 2)
        )
        for m, code in zip(micro, micro_codes, strict=True):
            m.update(code=code, parent_code=row["code"], area_code=prefix)
        micro.sort(key=lambda m: m["code"])
        out.append(_public(row))
        out += [_public(m) for m in micro]
    return out


def _divide_grid(cells: _Cells, graph: Graph, b: gpd.GeoDataFrame, bounds: tuple[int, int]):
    """Micro-grids of one grid; where whole parts leave no layer within bounds, the grid's
    buildings are cut into finer pieces (a few floors each) and divided again."""
    labels, reasons = _partition_area(cells, graph, bounds, keep_compounds=False)
    missed = score(graph, cells.households, labels, *bounds)[0]
    if missed <= unavoidable(cells.households, bounds[1]):
        return cells, labels, reasons
    finer = _resplit(cells, b, bounds, grain=max(1, bounds[0] // 10))
    finer_graph = _graph(finer)
    finer_labels, finer_reasons = _partition_area(finer, finer_graph, bounds, keep_compounds=False)
    if score(finer_graph, finer.households, finer_labels, *bounds)[0] < missed:
        return finer, finer_labels, finer_reasons
    return cells, labels, reasons


def _cells(area, b, compounds, barriers, split_bounds) -> _Cells:
    """Tessellate, then cut the cells of buildings into parts and pieces (see split.py)."""
    footprints = b.geometry.to_numpy()
    geoms, owner, enclosure = tessellate(footprints, area, barriers=barriers)
    households = b["households"].to_numpy(dtype=np.int64)
    units, floors = _column_ints(b, "units"), _column_ints(b, "floors")
    out: dict[str, list] = {k: [] for k in CELL_FIELDS}
    next_part = 0
    lo, hi = split_bounds
    for cell, i, e in zip(geoms, owner, enclosure, strict=True):
        if i < 0:
            pieces, bi, shares, parts, slots = [cell], -1, [0], [-1], [(-1, -1)]
        else:
            bi = int(i)
            _require_land(cell, b, bi)
            most = strip_count(cell, footprints[i]) if households[i] > hi else None
            shares, part_of = piece_shares(int(households[i]), lo, hi, most=most)
            parts = (next_part + part_of).tolist()
            next_part += int(part_of.max()) + 1
            if len(shares) == 1:
                pieces, slots = [cell], [(-1, -1)]
            else:
                pieces = slice_cell(cell, footprints[i], shares)
                slots = slot_ranges(shares, units=units[i], floors=floors[i]).tolist()
                pieces, shares, parts, slots = drop_empty(pieces, shares, parts, slots)
        for piece, share, part, slot in zip(pieces, shares, parts, slots, strict=True):
            out["geom"].append(piece)
            out["b"].append(bi)
            out["h"].append(int(share))
            out["e"].append(int(e))
            out["c"].append(int(compounds[bi]) if bi >= 0 else -1)
            out["part"].append(part)
            out["slots"].append(slot)
    return _pack(out, footprints)


def _require_land(cell: shapely.Geometry, b: gpd.GeoDataFrame, bi: int) -> None:
    """A building inside the area whose land came out empty cannot be placed: say which."""
    if cell.is_empty:
        bid = b["building_id"].iloc[bi]
        msg = (
            f"楼栋 {bid} 未分到土地，请检查其轮廓 (building {bid} got no land of its own: "
            "check its footprint against its neighbours and the boundary)"
        )
        raise InputError(msg)


def _resplit(cells: _Cells, b: gpd.GeoDataFrame, bounds, *, grain: int) -> _Cells:
    """The same land and households, with each building's cells re-cut into `grain` pieces."""
    footprints = b.geometry.to_numpy()
    out: dict[str, list] = {k: [] for k in CELL_FIELDS}
    next_part = int(cells.part.max()) + 1 if len(cells.part) else 0
    for bi in np.unique(cells.building):
        nodes = np.flatnonzero(cells.building == bi)
        if bi < 0:
            pieces = list(cells.geom[nodes])
            shares, parts, slots = [0] * len(nodes), [-1] * len(nodes), [(-1, -1)] * len(nodes)
        else:
            land = polygonal(shapely.union_all(cells.geom[nodes], grid_size=PRECISION_M))
            h = int(cells.households[nodes].sum())
            most = strip_count(land, footprints[bi])
            shares, part_of = piece_shares(h, *bounds, grain=grain, most=most)
            parts = (next_part + part_of).tolist()
            next_part += int(part_of.max()) + 1
            covered = cells.slots[nodes]
            first = int(covered[:, 0].min()) if (covered >= 0).any() else 0
            last = int(covered[:, 1].max()) if (covered >= 0).any() else len(shares) - 1
            edges = np.round(np.linspace(first, last + 1, len(shares) + 1)).astype(int)
            slots = [(a, max(a, z - 1)) for a, z in zip(edges[:-1], edges[1:], strict=True)]
            pieces = slice_cell(land, footprints[bi], shares) if len(shares) > 1 else [land]
            if len(shares) == 1:
                slots = [tuple(covered[0])]
            pieces, shares, parts, slots = drop_empty(pieces, shares, parts, slots)
        for piece, share, part, slot in zip(pieces, shares, parts, slots, strict=True):
            out["geom"].append(piece)
            out["b"].append(int(bi))
            out["h"].append(int(share))
            out["e"].append(int(cells.enclosure[nodes[0]]))
            out["c"].append(int(cells.compound[nodes[0]]))
            out["part"].append(part)
            out["slots"].append(slot)
    return _pack(out, footprints)


def _pack(out: dict[str, list], footprints: np.ndarray) -> _Cells:
    """Cells from the lists built by _cells and _resplit, each cell one polygon.

    Empty land (a sliver that snapping to the precision grid collapsed) is dropped.
    """
    geoms = np.asarray(out["geom"], dtype=object)
    keep = ~(shapely.is_empty(geoms) & (np.asarray(out["h"]) == 0))
    cells = _Cells(
        geoms,
        np.asarray(out["b"], dtype=np.int64),
        np.asarray(out["h"], dtype=np.int64),
        np.asarray(out["e"], dtype=np.int64),
        np.asarray(out["c"], dtype=np.int64),
        np.asarray(out["part"], dtype=np.int64),
        np.asarray(out["slots"], dtype=np.int64).reshape(-1, 2),
    )
    cells = _subset(cells, np.flatnonzero(keep))
    anchors = np.array([footprints[i] if i >= 0 else None for i in cells.building], dtype=object)
    cells.geom = _single_parts(cells.geom, anchors)
    return _explode(cells)


def _explode(cells: _Cells) -> _Cells:
    """One cell per separate piece of land: a building whose footprint has parts far apart
    (an OSM multipolygon) gets a cell per part, its households shared by area."""
    multi = np.flatnonzero(shapely.get_type_id(cells.geom) == 6)
    if len(multi) == 0:
        return cells
    rows, geoms, households = [], [], []
    next_part = int(cells.part.max()) + 1
    parts_out = []
    several = set(multi.tolist())
    for i in range(len(cells.geom)):
        if i not in several:
            rows.append(i), geoms.append(cells.geom[i]), households.append(cells.households[i])
            parts_out.append(cells.part[i])
            continue
        pieces = shapely.get_parts(cells.geom[i])
        shares = _by_area(int(cells.households[i]), shapely.area(pieces))
        for piece, share in zip(pieces, shares, strict=True):
            rows.append(i), geoms.append(piece), households.append(share)
            parts_out.append(next_part)
            next_part += 1
    rows = np.asarray(rows)
    out = _subset(cells, rows)
    out.geom = np.asarray(geoms, dtype=object)
    out.households = np.asarray(households, dtype=np.int64)
    out.part = np.asarray(parts_out, dtype=np.int64)
    return out


def _by_area(total: int, areas: np.ndarray) -> np.ndarray:
    """Integers proportional to `areas` adding up to `total` (largest remainders)."""
    exact = total * areas / max(areas.sum(), 1e-12)
    base = np.floor(exact).astype(np.int64)
    extra = total - int(base.sum())
    base[np.argsort(-(exact - base), kind="stable")[:extra]] += 1
    return base


def _single_parts(geoms: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Make every cell one polygon: the part with most of its building's footprint (`anchors`,
    None for open land) stays, stray parts go to the neighbour they share most edge with.

    A building's Voronoi land can come out in pieces (another building between its sample
    points); a region made of such a cell would not be one contiguous polygon.
    """
    geoms = geoms.copy()
    multi = np.flatnonzero(shapely.get_type_id(geoms) == 6)
    if len(multi) == 0:
        return geoms
    tree = shapely.STRtree(geoms)
    for i in multi:
        parts = shapely.get_parts(geoms[i])
        parts = parts[footprint_first(parts, anchors[i])]
        keep = [parts[0]]
        for stray in parts[1:]:
            near = [j for j in tree.query(stray, predicate="dwithin", distance=0.05) if j != i]
            shared = [
                shapely.length(
                    shapely.intersection(stray.boundary, geoms[j].buffer(0.05, quad_segs=1))
                )
                for j in near
            ]
            if near and max(shared) >= 0.01:
                j = near[int(np.argmax(shared))]
                geoms[j] = polygonal(shapely.union(geoms[j], stray, grid_size=PRECISION_M))
            else:
                keep.append(stray)
        geoms[i] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return geoms


def _column_ints(b: gpd.GeoDataFrame, column: str) -> list[int | None]:
    if column not in b.columns:
        return [None] * len(b)
    return [_int(v) for v in b[column].to_numpy()]


def _int(value) -> int | None:
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def _subset(cells: _Cells, nodes: np.ndarray) -> _Cells:
    return _Cells(
        cells.geom[nodes],
        cells.building[nodes],
        cells.households[nodes],
        cells.enclosure[nodes],
        cells.compound[nodes],
        cells.part[nodes],
        cells.slots[nodes],
    )


def _graph(cells: _Cells) -> Graph:
    i, j, shared = shared_edges(cells.geom)
    cost = shared.copy()
    barrier = cells.enclosure[i] != cells.enclosure[j]
    cost[barrier] *= BARRIER_COST
    same_compound = (cells.compound[i] >= 0) & (cells.compound[i] == cells.compound[j])
    cost[same_compound & ~barrier] *= COMPOUND_COST
    same_building = (cells.building[i] >= 0) & (cells.building[i] == cells.building[j])
    cost[same_building] *= BUILDING_COST
    return build_graph(len(cells.geom), i, j, shared, cost)


def _partition_area(
    cells: _Cells, graph: Graph, bounds: tuple[int, int], *, keep_compounds: bool
) -> tuple[np.ndarray, dict[int, str]]:
    """Label every cell with a region; reasons for regions that cannot meet the bounds."""
    lo, hi = bounds
    labels = np.full(len(cells.geom), -1, dtype=np.int64)
    reasons: dict[int, str] = {}
    comp = components(graph)
    xy = _anchor_xy(cells.geom)
    next_label = 0
    for c in range(int(comp.max()) + 1 if len(comp) else 0):
        nodes = np.flatnonzero(comp == c)
        total = int(cells.households[nodes].sum())
        k, reason = choose_k(total, lo, hi)
        if reason and comp.max() > 0:
            reason = f"isolated part: {reason}"
        sub = subgraph(graph, nodes)
        levels = _levels(cells, nodes, hi, keep_compounds=keep_compounds)
        local = _best_partition(sub, cells.households[nodes], xy[nodes], levels, k, lo, hi)
        k = int(local.max()) + 1
        labels[nodes] = local + next_label
        if reason:
            for r in range(k):
                reasons[next_label + r] = reason
        next_label += k
    joined = _absorb_empty(graph, cells.households, labels)
    kept, labels = np.unique(joined, return_inverse=True)
    reasons = {int(np.searchsorted(kept, r)): why for r, why in reasons.items() if r in kept}
    return labels, reasons


def _absorb_empty(graph: Graph, households: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Regions without households join the neighbouring region they share most edge with.

    Land where nobody lives still belongs to a region, but is never one of its own where it
    touches one with households (a lake or square enclosed by roads joins its neighbour).
    """
    labels = labels.copy()
    rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
    for _ in range(graph.n):
        totals = np.bincount(labels, weights=households)
        present = np.bincount(labels) > 0
        empty = np.flatnonzero(present & (totals == 0))
        if len(empty) == 0 or present.sum() == len(empty):
            break
        moved = False
        for r in empty:
            out = (labels[rows] == r) & (labels[graph.indices] != r)
            if not out.any():
                continue
            shared = np.bincount(
                labels[graph.indices][out], weights=graph.shared[out], minlength=len(totals)
            )
            labels[labels == r] = int(np.argmax(shared))
            moved = True
            break
        if not moved:
            break
    return labels


def _anchor_xy(geoms: np.ndarray) -> np.ndarray:
    """Centroid of each cell; a cell that snapping collapsed gets the mean of the others."""
    missing = shapely.is_empty(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    centroids = shapely.centroid(geoms[~missing])
    xy[~missing] = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    if missing.any():
        xy[missing] = np.nanmean(xy, axis=0) if (~missing).any() else 0.0
    return xy


def _best_partition(
    graph: Graph,
    weight: np.ndarray,
    xy: np.ndarray,
    levels: list[np.ndarray],
    k: int,
    lo: int,
    hi: int,
) -> np.ndarray:
    """Partition at the coarsest grouping that meets the bounds.

    `levels` are group arrays from coarse (compounds and buildings whole) to finer; at each,
    bisection first, then (while bounds are missed) local moves and chains along Hilbert
    orderings. The cells themselves come last, and a repair of what is still out of bounds.
    """
    fine = Problem(graph, weight, xy, lo, hi)
    candidates: list[np.ndarray] = []

    def best() -> np.ndarray:
        return min(candidates, key=lambda labels: score(graph, weight, labels, lo, hi))

    floor = unavoidable(weight, hi)

    def done() -> bool:
        return score(graph, weight, best(), lo, hi)[0] <= floor

    for groups in [*levels, np.full(graph.n, -1)]:
        coarse, new = contract(graph, connected_groups(graph, groups))
        cw = np.bincount(new, weights=weight).astype(np.int64)
        cxy = _weighted_xy(xy, weight, new)
        level = Problem(coarse, cw, cxy, lo, hi)
        if candidates:  # start from the best so far, moved at this finer level
            start = best()
            if _whole(start, new, coarse.n):
                candidates.append(refine(level, start[np.unique(new, return_index=True)[1]])[new])
        else:
            candidates.append(partition(coarse, cw, cxy, lo=lo, hi=hi, k=k)[new])
        if done():
            break
        chained, _, _ = chain_partition(coarse, cw, cxy, lo=lo, hi=hi)
        candidates.append(refine(level, chained)[new])
        if done():
            break
    result = best()
    if score(graph, weight, result, lo, hi)[0] > floor:
        result = refine(fine, repair(fine, result))
    return result


def _whole(labels: np.ndarray, new: np.ndarray, m: int) -> bool:
    """Whether every one of the `m` groups (`new`: group of each node) lies in one region."""
    first = np.empty(m, dtype=labels.dtype)
    first[new] = labels
    return bool((labels == first[new]).all())


def _levels(cells: _Cells, nodes: np.ndarray, hi: int, *, keep_compounds: bool) -> list:
    """Groupings from coarse to fine: small blocks, compounds and buildings whole; compounds
    and buildings whole; compounds whole only."""
    levels = [_groups(cells, nodes, hi, keep_compounds=keep_compounds)]
    if keep_compounds:  # coarsest: blocks between barriers that fit in one grid stay whole
        enclosure = cells.enclosure[nodes]
        whole = _group_sums(cells.households[nodes], enclosure) <= hi
        blocks = levels[0].copy()
        blocks[whole] = enclosure[whole] + int(blocks.max()) + 1
        levels.insert(0, blocks)
        compound = cells.compound[nodes]
        h = cells.households[nodes]
        c_total = _group_sums(h, compound)
        only = np.where((compound >= 0) & (c_total <= hi), compound, -1)
        levels.append(only)
    return levels


def _groups(cells: _Cells, nodes: np.ndarray, hi: int, *, keep_compounds: bool) -> np.ndarray:
    """Group id per node: pieces of a part, whole buildings and small compounds together."""
    building = cells.building[nodes]
    h = cells.households[nodes]
    groups = cells.part[nodes].copy()
    offset = int(groups.max()) + 1 if len(groups) else 0
    b_total = _group_sums(h, building)
    whole = (building >= 0) & (b_total <= hi)
    groups[whole] = building[whole] + offset
    if keep_compounds:
        offset += int(building.max()) + 1 if len(building) else 0
        compound = cells.compound[nodes]
        c_total = _group_sums(h, compound)
        small = (compound >= 0) & (c_total <= hi)
        groups[small] = compound[small] + offset
    return groups


def _group_sums(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each element, the sum of `values` over the elements with the same key."""
    _, at = np.unique(keys, return_inverse=True)
    return np.bincount(at, weights=values).astype(np.int64)[at]


def _weighted_xy(xy: np.ndarray, w: np.ndarray, new: np.ndarray) -> np.ndarray:
    weights = w.astype(float) + 1.0
    m = int(new.max()) + 1
    sx = np.bincount(new, weights=xy[:, 0] * weights, minlength=m)
    sy = np.bincount(new, weights=xy[:, 1] * weights, minlength=m)
    total = np.bincount(new, weights=weights, minlength=m)
    return np.column_stack([sx / total, sy / total])


@dataclass(frozen=True)
class _Columns:
    """What _regions reads of an area's buildings, converted once."""

    ids: np.ndarray
    totals: np.ndarray
    units: list[int | None]
    floors: list[int | None]

    @classmethod
    def of(cls, b: gpd.GeoDataFrame) -> _Columns:
        return cls(
            b["building_id"].astype(str).to_numpy(),
            b["households"].to_numpy(dtype=np.int64),
            _column_ints(b, "units"),
            _column_ints(b, "floors"),
        )


def _regions(cells, columns: _Columns, labels, reasons, *, level, bounds) -> list[dict]:
    """One row per region: polygon, households, members, and the parts of split buildings."""
    lo, hi = bounds
    ids, totals, units, floors = columns.ids, columns.totals, columns.units, columns.floors
    rows = []
    for r in range(int(labels.max()) + 1 if len(labels) else 0):
        nodes = np.flatnonzero(labels == r)
        if len(nodes) == 0:
            continue
        polygon = _one_polygon(_union(cells.geom[nodes]))
        households = int(cells.households[nodes].sum())
        members: dict[int, int] = {}
        slots: dict[int, list[int]] = {}
        for n in nodes:
            bi = int(cells.building[n])
            if bi < 0:
                continue
            members[bi] = members.get(bi, 0) + int(cells.households[n])
            if cells.slots[n, 0] >= 0:
                first, last = slots.get(bi, [cells.slots[n, 0], cells.slots[n, 1]])
                slots[bi] = [min(first, cells.slots[n, 0]), max(last, cells.slots[n, 1])]
        parts = [
            [ids[bi], describe_slots(*slots[bi], units=units[bi], floors=floors[bi]), share]
            for bi, share in members.items()
            if bi in slots and share < totals[bi]
        ]
        reason = reasons.get(r)
        if reason is None and violation(households, lo, hi) > 0:
            reason = _narrow_reason(cells, nodes, ids, units, floors, hi) or (
                f"{households} households, outside {lo}–{hi}: no split within bounds found"
            )
        centroid = polygon.centroid
        rows.append(
            {
                "level": level,
                "households": households,
                "members": [[ids[bi], share] for bi, share in members.items()],
                "parts": parts,
                "within_bounds": lo <= households <= hi,
                "polsby_popper": None,  # scored by generate_grids, after fill_pinholes
                "reason": reason,
                "geometry": polygon,
                "_nodes": nodes,
                "_xy": (centroid.x, centroid.y),
                "_enclosures": _sides(cells, nodes),
                "_bounds": (lo, hi),
                "_compounds": sorted({int(c) for c in cells.compound[nodes] if c >= 0}),
            }
        )
    return rows


def _narrow_reason(cells, nodes, ids, units, floors, hi) -> str | None:
    """Why a region holds more than `hi`: one piece of a building that cannot be cut thinner."""
    heaviest = nodes[int(np.argmax(cells.households[nodes]))]
    h, bi = int(cells.households[heaviest]), int(cells.building[heaviest])
    if h <= hi or bi < 0:
        return None
    where = ""
    if cells.slots[heaviest, 0] >= 0:
        first, last = cells.slots[heaviest]
        where = " " + describe_slots(first, last, units=units[bi], floors=floors[bi])
    return (
        f"楼栋 {ids[bi]}{where} 有 {h} 户，超过上限 {hi}：轮廓太短，不能再切出不窄于 "
        f"{MIN_STRIP_M:g} 米的条带，楼层不在地图上分开画 (part of building {ids[bi]}{where} holds "
        f"{h} households, above {hi}: its footprint is too short for strips of at least "
        f"{MIN_STRIP_M:g} m, and floors are not drawn apart on a map)"
    )


def _union(cells: np.ndarray) -> shapely.Geometry:
    """A region's cells merged on the 1 cm grid: a coverage union where they are a clean
    coverage (most regions; far cheaper), else the snap-rounding union."""
    if shapely.coverage_is_valid(cells):
        return shapely.set_precision(shapely.coverage_union_all(cells), PRECISION_M)
    return shapely.union_all(cells, grid_size=PRECISION_M)


def polsby_popper(geoms) -> np.ndarray:
    """Compactness 4πA/P² of each polygon (of one, as a 0-d array); 0 without a perimeter."""
    area, perimeter = shapely.area(geoms), shapely.length(geoms)
    safe = np.where(perimeter > 0, perimeter, 1.0)
    return np.where(perimeter > 0, 4 * math.pi * area / safe**2, 0.0)


def _one_polygon(geom: shapely.Geometry) -> shapely.Geometry:
    """A region's cells are connected, so their union is one polygon up to slivers."""
    if geom.geom_type == "Polygon":
        return geom
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3]
    if len(parts) == 1:
        return parts[0]
    joined = shapely.buffer(shapely.buffer(geom, PRECISION_M), -PRECISION_M)
    if joined.geom_type == "Polygon":
        return joined
    return geom  # left multi-part; the report shows it as not contiguous


def _public(row: dict) -> dict:
    row = dict(row)
    row["_barrier_crossing"] = _crossing_reason(row["_enclosures"], *row["_bounds"])
    hidden = ("_nodes", "_xy", "_enclosures", "_bounds")
    return {k: v for k, v in row.items() if k not in hidden}


def _sides(cells: _Cells, nodes: np.ndarray) -> dict[int, int]:
    """Households of a region per enclosure (the faces barrier lines cut the area into)."""
    held = nodes[cells.households[nodes] > 0]
    sides = np.bincount(cells.enclosure[held] + 1, weights=cells.households[held])
    return {int(e) - 1: int(h) for e, h in enumerate(sides) if h > 0}


def _crossing_reason(sides: dict[int, int], lo: int, hi: int) -> str | None:
    """Why a region holds households on both sides of a barrier (None if it does not)."""
    if len(sides) < 2:
        return None
    smallest = min(sides.values())
    if smallest < lo:
        return (
            f"跨越道路、河流或铁路：一侧只有 {smallest} 户，不足下限 {lo}，无法单独成格 "
            f"(crosses a barrier: one side holds only {smallest} households, below the "
            f"minimum {lo}, too few for a region of its own)"
        )
    return (
        f"跨越道路、河流或铁路：沿障碍线未找到各部分都在 {lo}–{hi} 户之内的划分 (crosses a "
        f"barrier: no division along it kept every part within {lo}–{hi} households)"
    )


# -- report ---------------------------------------------------------------------------------


def _empty_frame(crs) -> gpd.GeoDataFrame:
    columns = [
        "code", "level", "parent_code", "households", "members", "parts", "within_bounds",
        "polsby_popper", "reason", "area_code", "_compounds", "_barrier_crossing",
    ]  # fmt: skip
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _empty_report(level, grid_bounds, micro_bounds) -> dict:
    return {"level": level, "bounds": {"grid": list(grid_bounds), "micro": list(micro_bounds)}}


def _summarise(
    frame: gpd.GeoDataFrame, report: dict, level: str, grid_bounds, micro_bounds, fits: set[int]
) -> gpd.GeoDataFrame:
    levels = (
        ("grid", "micro") if level == "both" else (("micro",) if level == "micro" else ("grid",))
    )
    for lvl in levels:
        part = frame[frame["level"] == lvl]
        bounds = grid_bounds if lvl == "grid" else micro_bounds
        compounds_split = _split_compounds(part)
        small_split = _split_compounds(part, only=fits)
        report[lvl] = {
            "count": int(len(part)),
            "within_bounds": int(part["within_bounds"].sum()),
            "bounds": list(bounds),
            "households_min": int(part["households"].min()) if len(part) else 0,
            "households_max": int(part["households"].max()) if len(part) else 0,
            "polsby_popper_mean": float(part["polsby_popper"].mean()) if len(part) else 0.0,
            "split_compounds": compounds_split,
            "split_compounds_within_max": small_split,
            "barrier_crossing": int(part["_barrier_crossing"].notna().sum()),
            "barrier_crossing_reasons": [
                {"code": c, "reason": r}
                for c, r in zip(part["code"], part["_barrier_crossing"], strict=True)
                if isinstance(r, str)
            ],
            "split_buildings": _split_buildings(part),
            "not_contiguous": int((part.geom_type != "Polygon").sum()),
            "infeasible": [
                {"code": c, "households": int(h), "reason": r}
                for c, h, r in zip(part["code"], part["households"], part["reason"], strict=True)
                if isinstance(r, str)
            ],
        }
    return frame.drop(columns=["_compounds", "_barrier_crossing"], errors="ignore")


def _split_compounds(part: gpd.GeoDataFrame, *, only: set[int] | None = None) -> int:
    """Compounds (all, or those in `only`) whose buildings lie in more than one region."""
    seen: dict[tuple[str, int], int] = {}
    for area, compounds in zip(part["area_code"], part["_compounds"], strict=True):
        for c in compounds:
            if only is not None and c not in only:
                continue
            seen[(area, c)] = seen.get((area, c), 0) + 1
    return sum(1 for n in seen.values() if n > 1)


def _split_buildings(part: gpd.GeoDataFrame) -> int:
    seen: dict[str, int] = {}
    for members in part["members"]:
        for building_id, _ in members:
            seen[building_id] = seen.get(building_id, 0) + 1
    return sum(1 for n in seen.values() if n > 1)
