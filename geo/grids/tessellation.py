"""Enclosures and an enclosed morphological tessellation: one cell of land per building.

The area is first cut by barrier lines (major roads, rivers, rail) into enclosures. Inside each
enclosure, a Voronoi diagram of points sampled along every building's outline gives each
building the land nearer to it than to any other building; enclosures with no building become
empty cells. The cells cover the area with no gaps or overlaps, so grids dissolved from them do
too. All work is in metres (the caller projects).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import Geometry

from geo.lookup import first_containing

SAMPLE_SPACING_M = 6.0
PRECISION_M = 0.01
REACH_M = 180.0  # first reach of building_cells: twice a usual cell's far corner


def enclosures(area: Geometry, barriers: np.ndarray | None = None) -> np.ndarray:
    """Split `area` (Polygon/MultiPolygon) by barrier lines into polygon faces.

    Barrier lines that end inside a face without reaching another line do not cut it.
    """
    if barriers is None or len(barriers) == 0:
        return np.asarray(shapely.get_parts(area), dtype=object)
    lines = shapely.intersection(np.asarray(barriers, dtype=object), area)
    lines = lines[~shapely.is_empty(lines)]
    if len(lines) == 0:
        return np.asarray(shapely.get_parts(area), dtype=object)
    noded = shapely.node(shapely.union_all([shapely.boundary(area), *lines]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    keep = shapely.contains_properly(shapely.buffer(area, 1e-6), shapely.point_on_surface(faces))
    faces = np.array([polygonal(f) for f in shapely.make_valid(faces[keep])], dtype=object)
    # faces of the noded lines cover the area exactly; guard against round-off slivers
    faces = faces[shapely.area(faces) > 1e-6]
    return faces


def polygonal(geom: Geometry) -> Geometry:
    """Only the polygons of a geometry (intersections may add lines and points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    if len(parts) == 0:
        return shapely.Polygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def clip(geoms: np.ndarray, face: Geometry) -> np.ndarray:
    """Polygonal intersections of `geoms` with `face`."""
    try:
        out = shapely.intersection(geoms, face)
    except shapely.errors.GEOSException:
        out = np.empty(len(geoms), dtype=object)
        for i, g in enumerate(geoms):
            try:
                out[i] = shapely.intersection(g, face)
            except shapely.errors.GEOSException:  # a degenerate cell: repair, then clip
                fixed = polygonal(shapely.make_valid(g))
                out[i] = shapely.intersection(fixed, face)
    odd = ~np.isin(shapely.get_type_id(out), (3, 6))
    out[odd] = [polygonal(g) for g in out[odd]]
    return out


def _valid_regions(regions: Geometry) -> np.ndarray:
    """Voronoi cells as valid polygons (GEOS can return a near-degenerate, invalid one)."""
    parts = shapely.get_parts(regions)
    bad = ~shapely.is_valid(parts)
    if bad.any():
        parts[bad] = [polygonal(shapely.make_valid(p)) for p in parts[bad]]
    return parts


def tessellate(
    footprints: np.ndarray, area: Geometry, *, barriers: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells for buildings inside `area`, split by `barriers`.

    Parameters
    ----------
    footprints : array of Polygon/MultiPolygon/Point
        Buildings in metres. Each is assigned to the enclosure holding its representative point.
    area : Polygon or MultiPolygon
        The area to cover.
    barriers : array of LineString, optional
        Lines that cells must not cross.

    Returns
    -------
    cells : array of Polygon/MultiPolygon
        Building cells first (cells[i] for footprints[i]; an empty polygon if a building lies
        outside `area`), then one cell per enclosure without buildings.
    owner : int array
        For each cell, the index of its building, or -1 for an empty enclosure.
    enclosure : int array
        For each cell, the index of its enclosure (-1 for buildings outside the area).
    """
    footprints = np.asarray(footprints, dtype=object)
    faces = enclosures(area, barriers)
    anchors = shapely.point_on_surface(footprints)
    face_of = first_containing(anchors, faces)  # on a shared edge: the lower face

    cells = np.array([shapely.Polygon()] * len(footprints), dtype=object)
    empty_faces = []
    for f, face in enumerate(faces):
        members = np.flatnonzero(face_of == f)
        if len(members) == 0:
            empty_faces.append(f)
            continue
        if len(members) == 1:
            cells[members[0]] = face
            continue
        cells[members] = _voronoi_cells(footprints[members], face)
    owner = np.concatenate([np.arange(len(footprints)), np.full(len(empty_faces), -1)])
    cells = np.concatenate([cells, faces[empty_faces]]) if empty_faces else cells
    enclosure = np.concatenate([face_of, np.asarray(empty_faces, dtype=int)])
    return _on_grid(cells), owner, enclosure


def building_cells(
    footprints: np.ndarray,
    area: Geometry,
    wanted: np.ndarray,
    *,
    barriers: np.ndarray | None = None,
    reach_m: float = REACH_M,
) -> np.ndarray:
    """The cells tessellate(footprints, area, barriers=barriers) gives `wanted` buildings.

    Each is drawn from the Voronoi sites within `reach_m` of its building only, and kept when
    no point of it is farther than reach_m / 2 from any point of the building: a site left out
    is then farther from every point of the cell than the building's own sites, so the cell is
    the same. Otherwise the reach grows, and at the end the whole enclosure is drawn.
    """
    footprints = np.asarray(footprints, dtype=object)
    faces = enclosures(area, barriers)
    face_of = first_containing(shapely.point_on_surface(footprints), faces)
    out = np.array([shapely.Polygon()] * len(wanted), dtype=object)
    for n, i in enumerate(wanted):
        f = face_of[i]
        if f < 0:
            continue
        members = np.flatnonzero(face_of == f)
        if len(members) == 1:
            out[n] = faces[f]
            continue
        k = int(np.searchsorted(members, i))
        out[n] = _near_cell(footprints[members], faces[f], k, reach_m)
    return _on_grid(out)


def _on_grid(cells: np.ndarray) -> np.ndarray:
    """`cells` rounded to the centimetre grid vertex by vertex, so vertices that neighbours
    share stay shared; a cell that this makes invalid is snap-rounded as a whole instead."""
    out = shapely.set_precision(cells, PRECISION_M, mode="pointwise")
    bad = ~shapely.is_valid(out)
    out[bad] = shapely.set_precision(cells[bad], PRECISION_M)
    odd = ~np.isin(shapely.get_type_id(out), (3, 6))
    out[odd] = [polygonal(c) for c in out[odd]]
    return out


def _near_cell(footprints: np.ndarray, face: Geometry, k: int, reach: float) -> Geometry:
    """_voronoi_cells(footprints, face)[k], from the sites near building k when that is exact."""
    sites = _sites(footprints, face)
    if sites is None:
        return _fallback_cells(footprints, face)[k]
    points, which = sites
    own = footprints[k]
    apart = shapely.distance(shapely.points(points), own)
    corners = shapely.get_coordinates(shapely.convex_hull(own))
    for _ in range(3):
        near = apart <= reach
        if near.all():
            break
        cell = _cell(points[near], which[near], face, k)
        farthest = _farthest(cell, corners)
        if 2 * farthest <= reach:
            return cell
        reach = max(2 * farthest, 2 * reach)
    return _cell(points, which, face, k)


def _cell(points: np.ndarray, which: np.ndarray, face: Geometry, k: int) -> Geometry:
    """Building k's cell in the Voronoi diagram of `points`, cut to `face`."""
    parts = _cut(_regions(points, face)[which == k], face)
    return _dissolve(parts[~shapely.is_empty(parts)])


def _farthest(cell: Geometry, corners: np.ndarray) -> float:
    """Greatest distance between a point of `cell` and a point of the hull with `corners`."""
    hull = shapely.get_coordinates(shapely.convex_hull(cell))
    if len(hull) == 0:
        return 0.0
    return float(np.sqrt(((hull[:, None, :] - corners[None, :, :]) ** 2).sum(axis=2)).max())


def _voronoi_cells(footprints: np.ndarray, face: Geometry) -> np.ndarray:
    """Split `face` among `footprints`: each gets the Voronoi cells of its outline points."""
    sites = _sites(footprints, face)
    if sites is None:
        return _fallback_cells(footprints, face)
    points, which = sites
    parts = _cut(_regions(points, face), face)
    keep = ~shapely.is_empty(parts)
    return _dissolve_all(parts[keep], which[keep], len(footprints))


def _cut(parts: np.ndarray, face: Geometry) -> np.ndarray:
    """Voronoi `parts` cut to `face` (which _sites prepared)."""
    parts = _at_corners(parts, face)
    outside = ~shapely.contains(face, parts)
    parts[outside] = clip(parts[outside], face)
    return parts


def _sites(footprints: np.ndarray, face: Geometry) -> tuple[np.ndarray, np.ndarray] | None:
    """Voronoi sites of `footprints` in `face` and the building of each; None when degenerate."""
    shapely.prepare(face)
    inside = np.where(shapely.contains(face, footprints), footprints, None)
    crossing = inside == None  # noqa: E711 - elementwise test on an object array
    if crossing.any():
        cut = shapely.intersection(footprints[crossing], face)
        inside[crossing] = np.where(shapely.is_empty(cut), footprints[crossing], cut)
    outline = np.where(
        shapely.get_type_id(inside) == 0,
        inside,
        shapely.segmentize(shapely.boundary(inside), SAMPLE_SPACING_M),
    )
    points, which = shapely.get_coordinates(outline, return_index=True)
    # each building's representative point seeds its own cell too, so the cell holds it
    # (validation places a building by that point; overlapping outlines could cut it off)
    anchors = shapely.get_coordinates(shapely.point_on_surface(footprints))
    points = np.vstack([anchors, points])
    which = np.concatenate([np.arange(len(footprints)), which])
    # the same point sampled twice (ring closure, touching buildings): keep the first
    points = np.round(points, 2)
    _, keep = np.unique(points, axis=0, return_index=True)
    keep = np.sort(keep)
    points, which = points[keep], which[keep]
    if len(points) < 2 or len(np.unique(which)) < len(footprints):
        return None
    return points, which


def _regions(points: np.ndarray, face: Geometry) -> np.ndarray:
    """Voronoi regions of `points` in their order, reaching over `face`."""
    # the sites as the vertices of one line: the same regions as from a MultiPoint, without
    # making a Point of each
    regions = shapely.voronoi_polygons(shapely.linestrings(points), extend_to=face, ordered=True)
    return _valid_regions(regions)


def _at_corners(parts: np.ndarray, face: Geometry) -> np.ndarray:
    """`parts` with each corner of `face` put on the edges that pass within half a centimetre
    of it.

    Cut to the face as they are, the parts on both sides of such an edge would meet the corner
    with one vertex less on one side, and the centimetre grid the cells are rounded to later
    would leave a hairline between them where the other's vertex was.
    """
    corners = shapely.points(shapely.get_coordinates(face))
    hit, part = shapely.STRtree(parts).query(corners, predicate="dwithin", distance=PRECISION_M / 2)
    near = shapely.dwithin(corners[hit], shapely.boundary(parts[part]), PRECISION_M / 2)
    if not near.any():
        return parts
    order = np.argsort(part[near], kind="stable")
    hit, part = hit[near][order], part[near][order]
    touched, at = np.unique(part, return_inverse=True)
    near_corners = shapely.multipoints(corners[hit], indices=at)
    snapped = shapely.snap(parts[touched], near_corners, PRECISION_M / 2)
    bad = ~shapely.is_valid(snapped)
    snapped[bad] = [polygonal(shapely.make_valid(g)) for g in snapped[bad]]
    parts = parts.copy()
    parts[touched] = snapped
    return parts


def _dissolve_all(parts: np.ndarray, which: np.ndarray, n: int) -> np.ndarray:
    """_dissolve of the parts of each of `n` buildings (`which`), the coverage unions a call
    per table of buildings with up to 2, 4, 8, … parts (one row each, its gaps None)."""
    order = np.argsort(which, kind="stable")
    parts, which = parts[order], which[order]
    count = np.bincount(which, minlength=n)
    start = np.cumsum(count) - count
    out = np.array([shapely.Polygon()] * n, dtype=object)
    single = np.flatnonzero(count == 1)
    out[single] = parts[start[single]]
    width = 2 ** np.ceil(np.log2(np.maximum(count, 1))).astype(np.int64)
    for w in np.unique(width[count > 1]):
        rows = np.flatnonzero((count > 1) & (width == w))
        table = np.full((len(rows), w), None, dtype=object)
        mine = np.isin(which, rows)
        rank = np.arange(len(which))[mine] - start[which[mine]]
        table[np.searchsorted(rows, which[mine]), rank] = parts[mine]
        try:
            merged = shapely.coverage_union_all(table, axis=1)
            done = (shapely.get_type_id(merged) == 3) & shapely.is_valid(merged)
        except shapely.errors.GEOSException:  # one failed: each on its own
            merged, done = table[:, 0], np.zeros(len(rows), dtype=bool)
        out[rows[done]] = merged[done]
        for r in rows[~done]:
            out[r] = _dissolve(parts[start[r] : start[r] + count[r]])
    return out


def _dissolve(group: np.ndarray) -> Geometry:
    """Union of adjacent cells of one Voronoi diagram (a coverage: the fast path is exact)."""
    if len(group) == 0:
        return shapely.Polygon()
    if len(group) == 1:
        return group[0]
    try:
        merged = shapely.coverage_union_all(group)
    except shapely.errors.GEOSException:
        merged = None
    if merged is not None and merged.geom_type == "Polygon" and merged.is_valid:
        return merged
    return polygonal(shapely.union_all(group, grid_size=PRECISION_M))


def _fallback_cells(footprints: np.ndarray, face: Geometry) -> np.ndarray:
    """Voronoi of one point per building, for degenerate inputs (coincident buildings)."""
    anchors = shapely.point_on_surface(footprints)
    xy = shapely.get_coordinates(anchors)
    jitter = np.arange(len(xy))[:, None] * np.array([1e-3, 7e-4])  # split exact duplicates
    regions = shapely.voronoi_polygons(
        shapely.multipoints(xy + jitter), extend_to=face, ordered=True
    )
    return clip(_valid_regions(regions), face)
