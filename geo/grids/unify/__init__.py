"""多格合一 ("many grids into one"): compare departments' grid layers and unify them.

Departments (综治 governance, 城管 city management, 公安 police, 民政 civil affairs …) each drew
their own grids over the same land. :func:`compare_layers` lists where a layer overlaps itself,
leaves gaps or sticks out of the boundary, and where two layers disagree; :func:`unify_layers`
builds one layer that keeps as many of the existing grids as the household bounds allow and
divides the rest of the land with :func:`geo.grids.generate.generate_grids`.

Everything is measured in the UTM zone of the data. Pieces narrower than ``tolerance_m`` — the
slivers that layers drawn by hand always leave along edges they share — are ignored.

Each layer frame is identified by a column of its own: ``code`` if it has one, else ``id``, else
``name``, else the 1-based row number; messages say which (``综治 code=A01``, ``城管 row=3``).

The package, one job a module: :mod:`~geo.grids.unify.layers` reads and checks the layers;
:mod:`~geo.grids.unify.overlay` holds the snapped overlays and sliver tests;
:mod:`~geo.grids.unify.compare` compares layers (compare_layers, summarise);
:mod:`~geo.grids.unify.solve` unifies them (unify_layers), with the candidates and their choice
in :mod:`~geo.grids.unify.candidates`, the land left over in :mod:`~geo.grids.unify.settle`
and :mod:`~geo.grids.unify.divide`, and the rows and report in :mod:`~geo.grids.unify.report`.
"""

from geo.grids.unify.candidates import AGREE_IOU
from geo.grids.unify.compare import FINDING_COLUMNS, FINDING_KINDS, compare_layers, summarise
from geo.grids.unify.layers import ID_COLUMNS
from geo.grids.unify.overlay import GRID_M, TOUCH_M
from geo.grids.unify.solve import MAX_RELEASE_ROUNDS, unify_layers

__all__ = [
    "AGREE_IOU",
    "FINDING_COLUMNS",
    "FINDING_KINDS",
    "GRID_M",
    "ID_COLUMNS",
    "MAX_RELEASE_ROUNDS",
    "TOUCH_M",
    "compare_layers",
    "summarise",
    "unify_layers",
]
