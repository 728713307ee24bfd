"""Approximate areas where no boundaries are published: seed points → polygons.

The method: the area is cut into blocks by barrier lines (major roads, rails, water); each seed
gets its Voronoi cell; a block goes whole to the seed whose cell covers most of it, so the
areas follow the barriers instead of the straight Voronoi edges. A block holding more than one
seed is shared along their Voronoi edges. The areas cover the whole input area without overlap.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import CRSMismatchError, InputError

__all__ = ["approximate_areas", "side_of"]


def side_of(
    area: shapely.Geometry, lines: shapely.Geometry, *, inside: shapely.Point
) -> shapely.Geometry:
    """The part of `area` on the side of `lines` that holds `inside` (all in one CRS).

    Lines that do not cross the area leave it whole. Raises InputError when `inside` is not
    in the area.
    """
    if not area.covers(inside):
        msg = f"the point {inside.wkt} is not inside the area to cut"
        raise InputError(msg)
    faces = shapely.polygonize(shapely.get_parts(shapely.union_all([area.boundary, lines])))
    for face in shapely.get_parts(faces):
        if face.covers(inside) and area.covers(face.representative_point()):
            return shapely.intersection(face, area)
    return area


def _blocks(area: shapely.Geometry, barriers: gpd.GeoSeries) -> list[shapely.Geometry]:
    cut = [area.boundary, *shapely.intersection(barriers.to_numpy(), area)]
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(cut))))
    return [f for f in faces if area.contains(f.representative_point())]


def approximate_areas(
    seeds: gpd.GeoDataFrame,
    *,
    area: shapely.Geometry,
    barriers: gpd.GeoDataFrame | None = None,
    code_column: str = "code",
) -> gpd.GeoDataFrame:
    """One polygon per seed inside `area`, following `barriers`.

    Parameters
    ----------
    seeds : GeoDataFrame
        Points with a unique `code_column`; seeds outside the area get no polygon.
    area : shapely geometry
        The (Multi)Polygon to divide, in the seeds' CRS.
    barriers : GeoDataFrame, optional
        Lines the areas should follow, in the seeds' CRS.

    Returns
    -------
    GeoDataFrame
        `code_column` and geometry (Polygon/MultiPolygon), in the seeds' CRS, one row per seed
        inside the area, in the seeds' order.
    """
    if barriers is not None and barriers.crs != seeds.crs:
        msg = f"barriers are in {barriers.crs}, the seeds in {seeds.crs}"
        raise CRSMismatchError(msg)
    if seeds[code_column].duplicated().any():
        msg = f"seed codes must be unique, {code_column!r} repeats some"
        raise InputError(msg)
    inside = seeds[seeds.geometry.within(area)]
    if inside.geometry.duplicated().any():
        msg = "two seeds share one point: their areas cannot be told apart"
        raise InputError(msg)
    out = gpd.GeoDataFrame({code_column: []}, geometry=[], crs=seeds.crs)
    if inside.empty:
        return out
    utm = seeds.estimate_utm_crs()
    points = inside.to_crs(utm).geometry.to_numpy()
    region = gpd.GeoSeries([area], crs=seeds.crs).to_crs(utm).iloc[0]
    lines = gpd.GeoSeries([], crs=utm) if barriers is None else barriers.to_crs(utm).geometry
    cells = _cells(points, region)
    pieces: list[list[shapely.Geometry]] = [[] for _ in points]
    for block in _blocks(region, lines):
        held = [i for i, p in enumerate(points) if block.covers(p)]
        if len(held) > 1:
            for i in held:
                pieces[i].append(shapely.intersection(block, cells[i]))
            continue
        share = shapely.area(shapely.intersection(block, cells))
        pieces[held[0] if held else int(np.argmax(share))].append(block)
    polygons = [shapely.union_all(p) if p else shapely.Polygon() for p in pieces]
    result = gpd.GeoDataFrame(
        {code_column: inside[code_column].to_numpy()}, geometry=polygons, crs=utm
    )
    return result.to_crs(seeds.crs)


def _cells(points: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Voronoi cell of each point (in the points' order), reaching past the region."""
    if len(points) == 1:
        return np.array([region.envelope.buffer(1.0)])
    diagram = shapely.voronoi_polygons(shapely.MultiPoint(list(points)), extend_to=region)
    polys = shapely.get_parts(diagram)
    order = [next(j for j, c in enumerate(polys) if c.covers(p)) for p in points]
    return polys[order]
