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
    """Polygonal intersections of `geoms` with `face`, snapped to the precision grid."""
    try:
        out = shapely.intersection(geoms, face, grid_size=PRECISION_M)
    except shapely.errors.GEOSException:
        out = np.empty(len(geoms), dtype=object)
        for i, g in enumerate(geoms):
            try:
                out[i] = shapely.intersection(g, face, grid_size=PRECISION_M)
            except shapely.errors.GEOSException:  # a degenerate cell: repair, then clip
                fixed = polygonal(shapely.make_valid(g))
                out[i] = shapely.intersection(fixed, face, grid_size=PRECISION_M)
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
    cells = shapely.set_precision(cells, PRECISION_M)
    odd = ~np.isin(shapely.get_type_id(cells), (3, 6))
    cells[odd] = [polygonal(c) for c in cells[odd]]
    return cells, owner, enclosure


def _voronoi_cells(footprints: np.ndarray, face: Geometry) -> np.ndarray:
    """Split `face` among `footprints`: each gets the Voronoi cells of its outline points."""
    shapely.prepare(face)
    inside = np.where(shapely.within(footprints, face), footprints, None)
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
        return _fallback_cells(footprints, face)
    regions = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=face, ordered=True)
    parts = _valid_regions(regions)
    outside = ~shapely.within(parts, face)
    parts[outside] = clip(parts[outside], face)
    out = np.empty(len(footprints), dtype=object)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(footprints) + 1))
    for i in range(len(footprints)):
        group = parts[order[bounds[i] : bounds[i + 1]]]
        group = group[~shapely.is_empty(group)]
        out[i] = _dissolve(group)
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
