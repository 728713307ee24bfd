"""The grid layer, buildings and boundary that every edit works on, as arrays in metres."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.errors import InputError
from geo.grids.edit.messages import refusal

LEVELS = ("grid", "micro")


@dataclass
class _Layer:
    """A grid layer with positional arrays (row i of every array is row i of `frame`)."""

    frame: gpd.GeoDataFrame  # the input, index reset, EPSG:4326
    index: pd.Index  # the input's index
    crs: CRS  # the metric CRS of `raw` and `geom`
    raw: np.ndarray  # geometries as given, in metres
    geom: np.ndarray  # repaired to polygons (empty where nothing polygonal is left), metres
    code: np.ndarray  # str or None
    level: np.ndarray  # 'grid' or 'micro'
    parent: np.ndarray  # str or None
    top: str  # 'grid', or 'micro' for a layer of micro-grids only
    names: dict[str, str] = field(default_factory=dict)  # community code -> name, when known

    def community_name(self, i: int) -> str | None:
        code = self.code[i]
        return self.names.get(code[:12]) if code else None

    def rows(self, level: str) -> np.ndarray:
        return np.flatnonzero(self.level == level)

    def members(self, rows: np.ndarray) -> list:
        if "members" not in self.frame.columns:
            return [None] * len(rows)
        values = self.frame["members"].to_numpy()
        return [values[i] for i in rows]

    def stored_households(self) -> np.ndarray:
        """The `households` column as floats (NaN where missing)."""
        if "households" not in self.frame.columns:
            return np.full(len(self.frame), np.nan)
        return pd.to_numeric(self.frame["households"], errors="coerce").to_numpy(dtype=float)

    def find(self, code: str, *, what: str = "grid") -> int:
        hits = np.flatnonzero(self.code == str(code))
        if len(hits) == 0:
            raise InputError(refusal("unknown_code", code=code, n=len(self.code)))
        if len(hits) > 1:
            raise InputError(refusal("duplicate_code", code=code, n=len(hits)))
        return int(hits[0])


@dataclass
class _Buildings:
    ids: np.ndarray  # str
    households: np.ndarray  # int64
    estimated: np.ndarray  # bool
    footprint: np.ndarray  # metres, valid
    point: np.ndarray  # representative points, metres
    index: dict[str, int]
    labels: np.ndarray | None = None  # what people read: name or address (ids where None)

    def label(self, i: int) -> str:
        """「name or address」 of building row `i` for Chinese messages; its id if unnamed."""
        return f"「{self.labels[i] if self.labels is not None else self.ids[i]}」"

    def listed(self, building_ids, limit: int = 5) -> tuple[str, str]:
        """The buildings named for people (「…」、「…」) and by id (…, …), at most `limit`."""
        ids = [str(x) for x in building_ids]
        more = " …" if len(ids) > limit else ""
        shown = ids[:limit]
        zh = "、".join(self.label(self.index[x]) if x in self.index else x for x in shown)
        return zh + more, ", ".join(shown) + more


@dataclass
class _Area:
    geoms: np.ndarray  # boundary polygons, metres
    codes: list[str | None]  # valid 12-digit codes, else None
    prefixes: list[str]  # code prefix of grids in each polygon (a placeholder without a code)


def _bounds_of(level: str, grid_bounds, micro_bounds) -> tuple[int, int]:
    return tuple(grid_bounds) if level == "grid" else tuple(micro_bounds)


def _name(layer: _Layer, i: int) -> str:
    word = "micro-grid" if layer.level[i] == "micro" else "grid"
    return f"{word} {layer.code[i] or f'(row {i + 1}, no code)'}"
