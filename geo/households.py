"""Estimating household counts of buildings where no count is given.

For a building footprint with ``households`` missing::

    households = floor(area_m2 * floors * share / dwelling_m2)      (at least 1 if share * area > 0)

* ``area_m2``: footprint area measured in the data's UTM zone.
* ``floors``: the ``floors`` column where it is a positive number, else
  :data:`DEFAULT_FLOORS_BY_TYPE` for the building type, else :data:`FALLBACK_FLOORS` (3).
  apartments/residential 6: the six-storey walk-up is the commonest pre-2000 Chinese housing
  block; dormitory 5: campus and factory dormitories are mostly 4-6 storeys; house, detached,
  semidetached_house, terrace 2 and bungalow 1: low-rise by definition; 'yes' (untyped) 3: a
  mix of low shops and taller blocks, kept low so unknown buildings do not dominate a grid.
* ``share``: part of the floor area that is dwellings. 1.0 for the residential types in
  :data:`RESIDENTIAL_SHARE_BY_TYPE` (apartments, residential, dormitory, house, detached,
  semidetached_house, terrace, bungalow); :data:`UNKNOWN_RESIDENTIAL_SHARE` = 0.5 for untyped
  buildings ('yes', empty), because in Chinese urban OSM data roughly half of the untyped
  footprints are housing and half shops, offices and public buildings; 0 for every other type
  (commercial, retail, office, industrial, school, university, hospital, church, temple,
  garage, shed, public, government, warehouse, kindergarten, hotel, construction, roof, ...).
* ``dwelling_m2`` = 90: gross floor area per household (about 35 m² per person × 2.6 persons
  per household, plus stairwells and walls).
* The floor has a tolerance of 1e-6 so that an exact result (40.0) that round-off brings to
  39.9999999 still counts as 40.

A building without a footprint (a Point, or no geometry) gets
``floor(POINT_DWELLINGS_BY_TYPE[type] * share)`` (at least 1 if share > 0): 24 for blocks
(one six-storey walk-up with two stairwells and two flats per landing), 1 for a house or
bungalow, 2 for a semi-detached house, 4 for a terrace; other types with share > 0 use
:data:`DEFAULT_POINT_DWELLINGS` (24); untyped points thus get 12.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import require_crs, to_metric
from geo.errors import InputError

__all__ = [
    "DEFAULT_DWELLING_M2",
    "DEFAULT_FLOORS_BY_TYPE",
    "DEFAULT_POINT_DWELLINGS",
    "FALLBACK_FLOORS",
    "POINT_DWELLINGS_BY_TYPE",
    "RESIDENTIAL_SHARE_BY_TYPE",
    "UNKNOWN_RESIDENTIAL_SHARE",
    "UNKNOWN_TYPES",
    "estimate_households",
]

DEFAULT_DWELLING_M2 = 90.0
DEFAULT_FLOORS_BY_TYPE: Mapping[str, int] = {
    "apartments": 6,
    "residential": 6,
    "dormitory": 5,
    "house": 2,
    "detached": 2,
    "semidetached_house": 2,
    "terrace": 2,
    "bungalow": 1,
    "yes": 3,
}
FALLBACK_FLOORS = 3
RESIDENTIAL_SHARE_BY_TYPE: Mapping[str, float] = {
    "apartments": 1.0,
    "residential": 1.0,
    "dormitory": 1.0,
    "house": 1.0,
    "detached": 1.0,
    "semidetached_house": 1.0,
    "terrace": 1.0,
    "bungalow": 1.0,
}
UNKNOWN_TYPES = frozenset({"yes", ""})
UNKNOWN_RESIDENTIAL_SHARE = 0.5
POINT_DWELLINGS_BY_TYPE: Mapping[str, int] = {
    "apartments": 24,
    "residential": 24,
    "dormitory": 24,
    "house": 1,
    "detached": 1,
    "semidetached_house": 2,
    "terrace": 4,
    "bungalow": 1,
}
DEFAULT_POINT_DWELLINGS = 24
_TOLERANCE = 1e-6


def _row_numbers(frame: pd.DataFrame) -> np.ndarray:
    if "source_row" in frame.columns:
        return frame["source_row"].to_numpy()
    return np.arange(1, len(frame) + 1)


def _given_households(frame: pd.DataFrame) -> pd.Series:
    """Given counts as float (NaN where missing); bad values are an InputError naming the row."""
    if "households" not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    raw = frame["households"]
    numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = (raw.notna() & numbers.isna()) | (numbers < 0) | (numbers.notna() & (numbers % 1 != 0))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        value = raw.iloc[position]
        shown = repr(value) if isinstance(value, str) else str(value)
        msg = (
            f"households must be a whole number >= 0, got {shown} in row "
            f"{_row_numbers(frame)[position]}; run geo.validate.validate_features first"
        )
        raise InputError(msg)
    return numbers


def _shares(residential_types: Mapping[str, float] | Iterable[str] | None) -> Mapping[str, float]:
    if residential_types is None:
        return RESIDENTIAL_SHARE_BY_TYPE
    if isinstance(residential_types, Mapping):
        return {str(k).lower(): float(v) for k, v in residential_types.items()}
    return {str(k).lower(): 1.0 for k in residential_types}


def estimate_households(
    buildings: gpd.GeoDataFrame,
    *,
    dwelling_m2: float = DEFAULT_DWELLING_M2,
    floors_by_type: Mapping[str, int] | None = None,
    residential_types: Mapping[str, float] | Iterable[str] | None = None,
    unknown_share: float = UNKNOWN_RESIDENTIAL_SHARE,
    default_type: str = "yes",
) -> gpd.GeoDataFrame:
    """Fill missing ``households`` with an estimate from footprint, floors and type.

    Parameters
    ----------
    buildings : GeoDataFrame
        EPSG:4326 buildings (Polygon/MultiPolygon footprints or Points). Optional columns:
        ``households`` (whole numbers ≥ 0, missing = NA), ``floors``, ``building_type``
        (OSM ``building`` values), ``households_estimated``, ``floors_estimated``, ``source_row``.
    dwelling_m2 : float, default 90.0
        Gross floor area per household, m².
    floors_by_type : Mapping[str, int], optional
        Default storeys by building type, merged over :data:`DEFAULT_FLOORS_BY_TYPE`.
    residential_types : Mapping[str, float] or Iterable[str], optional
        Replaces :data:`RESIDENTIAL_SHARE_BY_TYPE`: type → residential share, or a collection of
        types that are fully residential. Types not listed and not untyped get 0.
    unknown_share : float, default 0.5
        Residential share of untyped buildings ('yes' or empty type).
    default_type : str, default "yes"
        Type assumed where ``building_type`` is missing or the column is absent.

    Returns
    -------
    GeoDataFrame
        A copy with ``households`` as int64 (given values unchanged), ``households_estimated``
        (bool: True where this call filled the value or it was True already) and
        ``floors_estimated`` (bool: True where an estimate used a default storey count;
        ``floors`` itself is left as given).

    Raises
    ------
    CRSMismatchError
        If the buildings are not in EPSG:4326.
    InputError
        If ``dwelling_m2`` is not positive or a given households value is not a whole
        number ≥ 0.
    """
    require_crs(buildings, name="buildings")
    if not dwelling_m2 > 0:
        msg = f"dwelling_m2 must be a positive area in m², got {dwelling_m2!r}"
        raise InputError(msg)
    out = buildings.copy()
    given = _given_households(out)
    missing = given.isna().to_numpy()

    if "building_type" in out.columns:
        raw_types = out["building_type"].astype(object)
        types = raw_types.where(raw_types.notna(), default_type).map(lambda t: str(t).strip())
    else:
        types = pd.Series(default_type, index=out.index, dtype=object)
    types = types.str.lower()
    shares = _shares(residential_types)
    share = types.map(lambda t: shares.get(t, unknown_share if t in UNKNOWN_TYPES else 0.0))
    share = share.to_numpy(dtype="float64")

    floor_table = {**DEFAULT_FLOORS_BY_TYPE, **(floors_by_type or {})}
    given_floors = (
        pd.to_numeric(out["floors"], errors="coerce").astype("float64").to_numpy()
        if "floors" in out.columns
        else np.full(len(out), np.nan)
    )
    has_floors = np.nan_to_num(given_floors, nan=0.0) > 0
    default_floors = types.map(lambda t: floor_table.get(t, FALLBACK_FLOORS)).to_numpy(float)
    floors = np.where(has_floors, given_floors, default_floors)

    geoms = out.geometry
    polygonal = geoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    area = np.zeros(len(out))
    if polygonal.any():
        area[polygonal] = to_metric(out.loc[polygonal, [out.geometry.name]]).area.to_numpy()

    residential = share > 0
    from_area = np.floor(area * floors * share / dwelling_m2 + _TOLERANCE)
    from_area = np.where(residential & (area > 0), np.maximum(from_area, 1), from_area)
    per_point = types.map(lambda t: POINT_DWELLINGS_BY_TYPE.get(t, DEFAULT_POINT_DWELLINGS))
    from_point = np.floor(per_point.to_numpy(float) * share + _TOLERANCE)
    from_point = np.where(residential, np.maximum(from_point, 1), from_point)
    estimate = np.where(polygonal, from_area, from_point)

    out["households"] = np.where(missing, estimate, given.to_numpy()).astype("int64")
    out["households_estimated"] = _flag(out, "households_estimated") | missing
    used_default_floors = missing & polygonal & residential & ~has_floors
    out["floors_estimated"] = _flag(out, "floors_estimated") | used_default_floors
    return out


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An existing boolean column as a numpy bool array (missing → False)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
