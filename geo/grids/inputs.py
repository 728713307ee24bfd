"""Checks shared by the grid functions (generate, edit, unify) on their inputs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import require_crs
from geo.errors import InputError


def require_buildings(buildings: gpd.GeoDataFrame, *, need_ids: bool = True) -> None:
    """Buildings in EPSG:4326 with (building_id and) households filled in and >= 0."""
    require_crs(buildings, name="buildings")
    needed = ("building_id", "households") if need_ids else ("households",)
    for column in needed:
        if column not in buildings.columns:
            msg = f"buildings need a '{column}' column; columns are {list(buildings.columns)}"
            raise InputError(msg)
    hh = pd.to_numeric(buildings["households"], errors="coerce")
    bad = hh.isna().to_numpy() | (hh < 0).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + 1
        msg = (
            f"households must be filled in and >= 0 (first bad row {first}); "
            "estimate them first (geo.households.estimate_households)"
        )
        raise InputError(msg)
