"""Check and redraw a grid layer: what the map UI calls when planners edit grids.

- :func:`validate_layer` lists every problem of a layer, one row each, with where it is.
- :func:`recount` brings households and members up to date after an edit.
- :func:`move_buildings` hands buildings, with their land, from their grid to a neighbour; the
  micro-grids of the grids involved are drawn anew, and a move that would cut a grid in two
  takes less land or is refused.
- :func:`regenerate` redivides everything except the locked grids.
- :func:`repair_layer` brings a broken layer back to one without errors, with few changes.
- :func:`split_grid` redivides one grid; :func:`merge_grids` joins neighbouring grids.

All take and return EPSG:4326 frames; areas and lengths are measured in the UTM zone. Polygons are
edited in longitude/latitude, so the edges a grid shares with untouched neighbours keep their
exact coordinates.

Which grid holds a building: the grid that contains its representative point (shapely's
``point_on_surface`` of the footprint). A split recorded in ``members`` (a tall building shared by
several micro-grids, each with its share of households) is kept while it still holds: every grid
named still overlaps the footprint, the shares add up to the building's households, and the grid
with the point is one of them. Otherwise the whole building goes to the grid with its point (or,
when the point lies in no grid, to the nearest grid within ``tolerance_m``: rounding slivers).

Tolerance: an overlap, gap or stray area is a problem when it is larger than ``tolerance_m``² and
wider than ``tolerance_m`` (a disc of that diameter fits inside); thinner slivers come from
rounding where neighbouring polygons were drawn or snapped separately.

The package, one job a module: :mod:`~geo.grids.edit.layer` is the layer, buildings and
boundary in metres, :mod:`~geo.grids.edit.prepare` checks the arguments and prepares them,
:mod:`~geo.grids.edit.geometry` and :mod:`~geo.grids.edit.roads` hold shared polygon and road
helpers, and :mod:`~geo.grids.edit.holdings` works out which grid holds which building. The
functions above live in :mod:`~geo.grids.edit.validate`, :mod:`~geo.grids.edit.counts`
(recount), :mod:`~geo.grids.edit.moves`, :mod:`~geo.grids.edit.redivide` (regenerate,
split_grid) and :mod:`~geo.grids.edit.merge`.
"""

from geo.grids.edit.counts import recount
from geo.grids.edit.geometry import QUAD_SEGS
from geo.grids.edit.layer import LEVELS
from geo.grids.edit.merge import merge_grids
from geo.grids.edit.moves import SNAP_DEG, SNAP_M, move_buildings
from geo.grids.edit.redivide import SPLIT_SLACK, regenerate, split_grid
from geo.grids.edit.repair import repair_layer
from geo.grids.edit.reshape import boundary_handles, reshape_boundary
from geo.grids.edit.validate import (
    CODE_DIGITS,
    PROBLEM_COLUMNS,
    PROBLEM_KINDS,
    SIMPLIFY_M,
    SLIVER_M,
    validate_layer,
)

__all__ = [
    "CODE_DIGITS",
    "LEVELS",
    "PROBLEM_COLUMNS",
    "PROBLEM_KINDS",
    "QUAD_SEGS",
    "SIMPLIFY_M",
    "SLIVER_M",
    "SNAP_DEG",
    "SNAP_M",
    "SPLIT_SLACK",
    "boundary_handles",
    "merge_grids",
    "move_buildings",
    "recount",
    "regenerate",
    "repair_layer",
    "reshape_boundary",
    "split_grid",
    "validate_layer",
]
