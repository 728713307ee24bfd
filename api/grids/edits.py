"""Planners' edits of a community's grid layer: check, store, redraw, lock and undo.

Every edit works on one community's whole layer (both levels) against its stored buildings,
polygon and roads, with the pure functions of geo.grids.edit. The result is validated; saved,
it becomes the community's next layer version through api.storage.grids.write_version, in the
caller's transaction, and the previous version stays as history.

Households: a sent layer is recounted from the buildings (edit.recount) except for untouched
grids, which keep their stored households and members (code, level, parent and polygon as
stored, and none of their buildings held by a changed grid). Moves, splits, merges and
regeneration recount what they change themselves.

Layer versions count the writes of a community's layer: 1 for the first generation, then one
more per save, DB-mode regeneration or undo (see api.storage.grids.LayerVersion). A save may
name the version it was based on (`base_version`); when another write came in between, it is
refused (ConflictError) and nothing is written. Saves of one community queue up on its row lock,
so the check and the write cannot interleave with another save.

Locked grids: a locked grid (and its micro-grids) must come out of every edit exactly as
stored. Regeneration keeps them by construction; saving anything that would change one (a
layer, a move, split, merge or undo) is refused with ConflictError, and validation and previews
report it as a ``locked_changed`` error. Locks follow codes: a saved version keeps the locks of
the codes it still has.

Coordinates: a sent feature whose polygon matches the stored polygon of its code to within
1e-7° (GET /api/grids rounds to 7 decimals) keeps the stored coordinates, so untouched grids
stay byte for byte as they were. Layers returned here carry full-precision coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from api.cases import reroute_open_cases
from api.errors import ConflictError
from api.storage import grids as store
from api.validation import check_geojson_geometry, require_in_service_area
from geo import io as geo_io
from geo.errors import InputError
from geo.grids import edit
from geo.grids.edit.messages import english_name, grid_name, refusal, text
from geo.io import json_ready

TOLERANCE_M = 0.5  # overlaps, gaps and strays thinner than this are rounding (edit module)
SAME_DEG = 1e-7  # a sent polygon this close to the stored one keeps the stored coordinates
POLYGON_TYPES = ("Polygon", "MultiPolygon")
LAYER_PROPERTIES = ("code", "level", "parent_code", "households", "members", "locked")
PROBLEM_PROPERTIES = edit.PROBLEM_COLUMNS
LOCKED_KIND = "locked_changed"  # the one problem kind this module adds to edit.PROBLEM_KINDS


class LayerRejected(InputError):
    """A layer with errors was not saved; `extra` carries the problems as GeoJSON."""

    def __init__(self, message: str, problems: gpd.GeoDataFrame) -> None:
        super().__init__(message)
        self.problems = problems
        self.extra = {"problems": feature_collection(problems, PROBLEM_PROPERTIES)}


@dataclass
class EditResult:
    """A community's layer after an edit, its problems, and what was stored.

    `version` is the layer version the edit was based on, or the new one when `saved`.
    """

    community: str
    layer: gpd.GeoDataFrame
    problems: gpd.GeoDataFrame
    version: int
    saved: bool = False
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.problems["severity"] == "error").any()


# -- the community and its stored layer -------------------------------------------------------


@dataclass
class _Community:
    session: Session
    area: store.Area
    version: int  # the current layer version
    stored: gpd.GeoDataFrame  # the current layer, exact coordinates
    buildings: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    at: datetime | None  # the write's timestamp, when the community is locked for a save

    @property
    def locked(self) -> list[str]:
        return sorted(self.stored.loc[self.stored["locked"], "code"])

    def roads(self) -> gpd.GeoDataFrame:
        return store.read_roads(self.session, self.area)


def _open(
    session: Session, community: str, *, save: bool = False, base_version: int | None = None
) -> _Community:
    """Read what an edit needs; for a save, lock the community first and check base_version."""
    (area,) = store.select_communities(session, community=[community])
    if area.geom is None:
        raise InputError(refusal("no_polygon", community=community))
    at = store.lock_communities(session, [area.id]) if save else None
    version = store.layer_version(session, area)
    if save and base_version is not None and base_version != version:
        msg = refusal("stale_version", community=community, version=version, base=base_version)
        raise ConflictError(msg)
    boundary = gpd.GeoDataFrame(
        {"code": [area.code], "name": [area.name]}, geometry=[area.geom], crs=4326
    )
    return _Community(
        session,
        area,
        version,
        store.read_layer(session, area),
        store.read_buildings(session, area),
        boundary,
        at,
    )


# -- GeoJSON in and out -----------------------------------------------------------------------


def layer_from_features(features: Sequence[dict], community: str) -> gpd.GeoDataFrame:
    """A layer frame from GeoJSON features (dicts with `geometry` and `properties`).

    Properties: `code` (required, in the community), `level` ('grid' or 'micro'; from the
    code's length when missing), `parent_code`, `members`; others are ignored (households are
    recounted). Raises InputError, naming the feature, for a missing or non-polygon geometry,
    malformed or out-of-range coordinates, or a missing or foreign code.
    """
    if not features:
        msg = "the layer has no features"
        raise InputError(msg)
    rows, geoms = [], []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        code = props.get("code")
        code = str(code).strip() if isinstance(code, str | int) else None
        name = {
            "feature": f"第 {number} 个要素" + (f"（编码 {code}）" if code else ""),
            "feature_en": f"feature {number}" + (f" (code {code})" if code else ""),
        }
        if not code:
            raise InputError(refusal("feature_no_code", **name))
        if not code.startswith(community):
            raise InputError(refusal("feature_foreign", community=community, **name))
        level = props.get("level")
        if level is None:
            level = "micro" if len(code) == 18 else "grid"
        if level not in edit.LEVELS:
            raise InputError(refusal("feature_level", level=repr(level)[:40], **name))
        digits = 18 if level == "micro" else 15
        if not (code.isascii() and code.isdigit() and len(code) == digits):
            raise InputError(refusal("feature_digits", level=level, digits=digits, **name))
        parent = props.get("parent_code")
        parent = str(parent).strip() if parent not in (None, "") else None
        grid_code = parent is None or (parent.isascii() and parent.isdigit() and len(parent) == 15)
        if not grid_code or (parent is not None and not parent.startswith(community)):
            msg = refusal("feature_parent", community=community, parent=repr(parent[:40]), **name)
            raise InputError(msg)
        members = props.get("members")
        rows.append(
            {
                "code": code,
                "level": level,
                "parent_code": parent,
                "members": members if isinstance(members, list) else None,
            }
        )
        geoms.append(_polygon(feature.get("geometry"), name))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def _polygon(geometry: dict | None, name: dict[str, str]) -> shapely.Geometry:
    """The feature's polygon; InputError for a missing, non-polygon or malformed geometry,
    coordinates that are not WGS-84 lon/lat, or too many vertices (api.validation). Invalid
    polygons pass: validate_layer reports them with their place."""
    if not geometry:
        raise InputError(refusal("feature_no_geometry", **name))
    kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
    if kind not in POLYGON_TYPES:
        raise InputError(refusal("feature_not_polygon", kind=kind, **name))
    try:
        return check_geojson_geometry(geometry, kinds=POLYGON_TYPES, valid=False)
    except ValueError as exc:
        raise InputError(refusal("feature_geometry", reason=exc, **name)) from None


def _keep_stored_coordinates(layer: gpd.GeoDataFrame, stored: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """`layer` with the stored polygon wherever the sent one matches it to within SAME_DEG."""
    if stored.empty or layer.empty:
        return layer
    position = pd.Series(np.arange(len(stored)), index=stored["code"].to_numpy())
    position = position[~position.index.duplicated()]
    found = position.reindex(layer["code"].to_numpy())
    rows = np.flatnonzero(found.notna().to_numpy())
    if len(rows) == 0:
        return layer
    sent = layer.geometry.to_numpy()
    old = stored.geometry.to_numpy()[found.to_numpy()[rows].astype(np.int64)]
    same = shapely.equals_exact(sent[rows], old, tolerance=SAME_DEG)
    geometry = sent.copy()
    geometry[rows[same]] = old[same]
    return layer.set_geometry(gpd.GeoSeries(geometry, index=layer.index, crs=4326))


def feature_collection(
    frame: gpd.GeoDataFrame, properties: Sequence[str], *, id_column: str | None = None
) -> dict:
    """GeoJSON FeatureCollection of `frame` with the given properties (full precision)."""
    return geo_io.feature_collection(frame, list(properties), id_column=id_column)


# -- the common end of every edit -------------------------------------------------------------


def _locked_problems(stored: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A `locked_changed` error for each locked grid (or micro-grid of one) the edit changed."""
    if not stored["locked"].any():  # the usual case, without the frame work below (~7 ms)
        return _no_problems()
    locked = set(stored.loc[stored["locked"], "code"])
    guarded = stored[stored["locked"] | stored["parent_code"].isin(locked)]
    rows = []
    new = {c: k for k, c in enumerate(layer["code"])}
    new_geoms = layer.geometry.to_numpy()
    for code, level, parent, old in zip(
        guarded["code"], guarded["level"], guarded["parent_code"], guarded.geometry, strict=True
    ):
        parent = _text(parent)
        lock = code if code in locked else parent
        if code in locked:
            why = {"why": "已锁定", "why_en": "is locked"}
        else:
            why = {"why": f"属于锁定的网格 {parent}", "why_en": f"is in locked grid {parent}"}
        k = new.get(code)
        if k is None:
            change, where = ("删除了它", "the edit removes it"), old
        elif layer["level"].iloc[k] != level or _text(layer["parent_code"].iloc[k]) != parent:
            change, where = ("改变了它的层级或上级", "the edit changes its level or parent"), old
        elif shapely.to_wkb(new_geoms[k]) != shapely.to_wkb(old):
            change = ("改变了它的范围", "the edit changes its polygon")
            where = shapely.symmetric_difference(new_geoms[k], old)
            where = old if where.is_empty else where
        else:
            continue
        zh, en = text(
            "locked_changed", name=grid_name(code, level), name_en=english_name(code, level),
            change=change[0], change_en=change[1], lock=lock, **why,
        )  # fmt: skip
        rows.append(
            {
                "kind": LOCKED_KIND,
                "severity": "error",
                "level": level,
                "code": code,
                "other_code": lock if lock != code else None,
                "message": zh,
                "message_en": en,
                "side": None,
                "geometry": where,
            }
        )
    if not rows:
        return _no_problems()
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _no_problems() -> gpd.GeoDataFrame:
    columns = {c: pd.Series([], dtype=object) for c in PROBLEM_PROPERTIES}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _finish(
    c: _Community,
    layer: gpd.GeoDataFrame,
    *,
    save: bool,
    report: dict | None = None,
    require_valid: bool = True,
) -> EditResult:
    """Validate `layer`, and when `save` store it as the next version."""
    layer = layer.sort_values("code", kind="stable").reset_index(drop=True)
    layer["locked"] = layer["code"].isin(c.locked)
    locked = _locked_problems(c.stored, layer)
    problems = edit.validate_layer(layer, c.buildings, c.boundary, tolerance_m=TOLERANCE_M)
    if not locked.empty:
        problems = pd.concat([locked, problems], ignore_index=True)
    result = EditResult(c.area.code, layer, problems, c.version, report=json_ready(report or {}))
    if save:
        if not locked.empty:
            raise ConflictError(_listed_refusal("locked_refused", locked))
        errors = problems[problems["severity"] == "error"]
        if require_valid and len(errors):
            raise LayerRejected(_listed_refusal("errors_refused", errors), errors)
        store.write_version(c.session, c.area, layer, at=c.at)
        reroute_open_cases(c.session, actor="system:grid-edit")
        result.version, result.saved = c.version + 1, True
    return result


def _listed_refusal(key: str, problems: gpd.GeoDataFrame) -> str:
    """A refused save, "中文 (English)", listing the first three problems in each language."""
    more = " …" if len(problems) > 3 else ""
    zh = text(key, n=len(problems), listed="；".join(problems["message"].head(3)) + more)[0]
    en = text(key, n=len(problems), listed="; ".join(problems["message_en"].head(3)) + more)[1]
    return f"{zh} ({en})"


def _layer(c: _Community, features: Sequence[dict] | None) -> gpd.GeoDataFrame:
    """The sent layer (stored coordinates kept where unchanged) recounted, or the stored one."""
    if features is None:
        if c.stored.empty:
            raise InputError(refusal("no_layer", community=c.area.code))
        return c.stored.copy()
    layer = layer_from_features(features, c.area.code)
    require_in_service_area(c.session, layer.geometry, what="feature")
    layer = _keep_stored_coordinates(layer, c.stored)
    return _recount_changed(layer, c.stored, c.buildings)


def _recount_changed(
    layer: gpd.GeoDataFrame, stored: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """`layer` recounted, except that untouched grids keep their stored households and members.

    Untouched: code, level, parent and polygon as stored, and none of the grid's buildings
    (stored or recounted) held by a changed, new or dropped grid of the same level.
    """
    fresh = edit.recount(layer, buildings).reset_index(drop=True)
    old = stored.drop_duplicates("code")
    old_at = {code: k for k, code in enumerate(old["code"])}
    old_level, old_members = old["level"].tolist(), old["members"].tolist()
    old_households = old["households"].tolist()
    codes, levels, members = (
        fresh["code"].tolist(),
        fresh["level"].tolist(),
        fresh["members"].tolist(),
    )
    at = np.array([old_at.get(code, -1) for code in codes], dtype=np.int64)
    same = np.zeros(len(fresh), dtype=bool)
    found = np.flatnonzero(at >= 0)
    if len(found):
        j = at[found]
        old_parent = old["parent_code"].to_numpy()[j]
        parent = fresh["parent_code"].to_numpy()[found]
        same_wkb = shapely.to_wkb(old.geometry.to_numpy()[j]) == shapely.to_wkb(
            fresh.geometry.to_numpy()[found]
        )
        same[found] = [
            old_level[o] == levels[k] and _text(p) == _text(q) and bool(w)
            for k, o, p, q, w in zip(found, j, old_parent, parent, same_wkb, strict=True)
        ]
    kept = {codes[k] for k in np.flatnonzero(same)}

    def ids(held: Any) -> set[str]:
        return {str(m[0]) for m in held or []}

    touched: dict[str, set[str]] = {level: set() for level in edit.LEVELS}
    for k in np.flatnonzero(~same):
        touched[levels[k]] |= ids(members[k])
    for code, level, held in zip(old["code"], old_level, old_members, strict=True):
        if code not in kept:
            touched[level] |= ids(held)
    households = fresh["households"].tolist()
    for k in np.flatnonzero(same):
        previous = old_members[at[k]]
        if not (ids(previous) | ids(members[k])) & touched[levels[k]]:
            households[k], members[k] = int(old_households[at[k]]), previous
    fresh["households"] = pd.array(households, dtype="int64")
    fresh["members"] = pd.Series(members, index=fresh.index, dtype=object)
    return fresh


# -- the edits --------------------------------------------------------------------------------


def validate(session: Session, community: str, features: Sequence[dict]) -> EditResult:
    """The problems of a sent layer against the community's buildings and polygon.

    The layer is recounted first as a save would do it, so `ok` says whether a save would
    accept it.
    """
    c = _open(session, community)
    return _finish(c, _layer(c, features), save=False)


def save(
    session: Session, community: str, features: Sequence[dict], *, base_version: int | None = None
) -> EditResult:
    """Store a sent layer as the community's next version, recounted.

    Raises ConflictError when `base_version` is not the current version or a locked grid would
    change, LayerRejected (an InputError) when the layer has errors; nothing is written then.
    """
    c = _open(session, community, save=True, base_version=base_version)
    return _finish(c, _layer(c, features), save=True)


def move(
    session: Session,
    community: str,
    building_ids: Sequence[str],
    to_code: str,
    *,
    features: Sequence[dict] | None = None,
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Hand buildings, with their land, to the grid `to_code` (edit.move_buildings)."""
    c = _open(session, community, save=save, base_version=base_version)
    layer = edit.move_buildings(
        _layer(c, features),
        c.buildings,
        c.boundary,
        list(building_ids),
        to_code=to_code,
        roads=c.roads(),
        tolerance_m=TOLERANCE_M,
    )
    return _finish(c, layer, save=save, report={"moved": list(building_ids), "to": to_code})


def regenerate(
    session: Session,
    community: str,
    *,
    level: str = "both",
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Divide the community again, keeping its locked grids and their micro-grids unchanged."""
    c = _open(session, community, save=save, base_version=base_version)
    top = "grid" if (c.stored["level"] == "grid").any() or c.stored.empty else "micro"
    locked = [code for code, lvl in zip(c.stored["code"], c.stored["level"], strict=True)
              if lvl == top and code in c.locked]  # fmt: skip
    out = edit.regenerate(
        c.stored,
        c.buildings,
        c.boundary,
        locked=locked,
        roads=c.roads(),
        level=level,
        tolerance_m=TOLERANCE_M,
    )
    return _finish(c, out.grids, save=save, report=out.report)


def split(
    session: Session,
    community: str,
    code: str,
    *,
    parts: int = 2,
    features: Sequence[dict] | None = None,
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Divide one grid (or micro-grid) into `parts` of about equal households."""
    c = _open(session, community, save=save, base_version=base_version)
    out = edit.split_grid(
        _layer(c, features),
        c.buildings,
        c.boundary,
        code,
        parts=parts,
        roads=c.roads(),
        tolerance_m=TOLERANCE_M,
    )
    return _finish(c, out.grids, save=save, report=out.report)


def merge(
    session: Session,
    community: str,
    codes: Sequence[str],
    *,
    features: Sequence[dict] | None = None,
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Join neighbouring grids (or micro-grids of one grid) into the one with the lowest code."""
    c = _open(session, community, save=save, base_version=base_version)
    layer = edit.merge_grids(_layer(c, features), codes)
    kept = min(codes)
    return _finish(c, layer, save=save, report={"merged": sorted(codes), "kept": kept})


def repair(
    session: Session,
    community: str,
    *,
    features: Sequence[dict] | None = None,
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Bring the layer (a draft, else the stored one) back to one without errors
    (edit.repair_layer): good codes and locked grids kept, only polygons with errors changed,
    missing or clashing codes given the next free number."""
    c = _open(session, community, save=save, base_version=base_version)
    out = edit.repair_layer(
        _layer(c, features),
        c.buildings,
        c.boundary,
        locked=c.locked,
        roads=c.roads(),
        tolerance_m=TOLERANCE_M,
    )
    return _finish(c, out.grids, save=save, report=out.report)


def undo(session: Session, community: str, *, base_version: int | None = None) -> EditResult:
    """Make the version before the current one current again, as a new version.

    History is never rewritten: undoing version N stores a copy of N-1 as N+1 (as it was
    stored, also when it has problems: it was accepted before). Undo again and N comes back.
    Raises ConflictError when there is no earlier version or a locked grid would change.
    """
    c = _open(session, community, save=True, base_version=base_version)
    versions = store.layer_versions(session, c.area)
    if len(versions) < 2:
        raise ConflictError(refusal("nothing_to_undo", community=community, n=len(versions)))
    previous = versions[-2]
    layer = store.read_layer(session, c.area, written_at=previous.valid_from)
    report = {"restored_version": previous.version, "undone_version": versions[-1].version}
    return _finish(c, layer, save=True, report=report, require_valid=False)


def history(session: Session, community: str) -> list[store.LayerVersion]:
    """Every version of the community's layer, oldest first."""
    (area,) = store.select_communities(session, community=[community])
    return store.layer_versions(session, area)


def set_locked(session: Session, codes: Sequence[str], *, locked: bool) -> int:
    """Lock or unlock grids: sets `locked` on their current rows in place, no new version.

    Grids are locked, not micro-grids (a micro-grid is locked with its grid); micro-grids are
    accepted only in a layer of micro-grids only. Raises NotFoundError for a code without a
    current row, InputError for a micro-grid of a grid. Returns how many rows changed.
    """
    codes = sorted(set(codes))
    rows = store.current_grids(session, codes)
    nested = [r for r in rows if r["level"] == "micro" and r["parent_code"]]
    if nested:
        listed = ", ".join(f"{r['code']} (grid {r['parent_code']})" for r in nested[:3])
        raise InputError(refusal("lock_micro", listed=listed))
    # queue behind saves of these communities, so that a save cannot drop the change
    store.lock_communities(session, {r["community_id"] for r in rows if r["community_id"]})
    return store.set_locked(session, codes, locked=locked)


# -- topological boundary editing -------------------------------------------------------------


def handles(
    session: Session,
    community: str,
    *,
    level: str = "grid",
    features: Sequence[dict] | None = None,
    codes: Sequence[str] | None = None,
) -> list[dict]:
    """The corners of the layer (a draft, else the stored one) that a planner may drag."""
    c = _open(session, community)
    if features is None:
        layer = _layer(c, None)
    else:
        layer = layer_from_features(features, c.area.code)
        require_in_service_area(session, layer.geometry, what="feature")
        layer = _keep_stored_coordinates(layer, c.stored)
    found = edit.boundary_handles(layer, level=level, codes=None if codes is None else list(codes))
    return [
        {"lon": point.x, "lat": point.y, "codes": list(owners), "kind": kind}
        for point, owners, kind in zip(found.geometry, found["codes"], found["kind"], strict=True)
    ]


def reshape(
    session: Session,
    community: str,
    *,
    level: str,
    corner: Sequence[float],
    to: Sequence[float],
    features: Sequence[dict] | None = None,
    save: bool = False,
    base_version: int | None = None,
) -> EditResult:
    """Drag a handle: every polygon of `level` with that corner moves it (edit.reshape_boundary)."""
    c = _open(session, community, save=save, base_version=base_version)
    layer = edit.reshape_boundary(
        _layer(c, features),
        c.buildings,
        level=level,
        corner=tuple(corner),
        to=tuple(to),
        locked=c.locked,
        tolerance_m=TOLERANCE_M,
    )
    report = {"level": level, "from": list(corner), "to": list(to)}
    return _finish(c, layer, save=save, report=report)
