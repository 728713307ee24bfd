"""Grid layers in and out as files: GeoJSON, GeoPackage and a building → grid CSV.

Exports take a stored version (the current one by default) or a draft the planner sent.
Imports never write: the file becomes a draft layer, recounted and validated like an edit
(api.grids.edits), that the planner edits and saves from the page.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.grids import edits
from api.grids.compare import community_area, grid_name, version_layer
from api.storage import models
from geo import io as geo_io
from geo.errors import InputError

MAX_IMPORT_BYTES = 10 * 1024 * 1024
FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
LAYER_COLUMNS = ["code", "level", "parent_code", "households", "members", "locked", "name"]
CSV_COLUMNS = [
    "building_id",
    "name",
    "address",
    "households",
    "grid_code",
    "grid_name",
    "micro_code",
]
GPKG_LAYER = "grids"


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str  # with the community's name (UTF-8)
    ascii_filename: str  # the fallback for old clients

    @property
    def disposition(self) -> str:
        return (
            f'attachment; filename="{self.ascii_filename}"; '
            f"filename*=UTF-8''{quote(self.filename)}"
        )


# -- export -----------------------------------------------------------------------------------


def export_layer(
    session: Session,
    community: str,
    *,
    fmt: str,
    version: int | None = None,
    features: Sequence[dict] | None = None,
) -> Export:
    """The community's layer of `version` (current when None), or the draft `features`
    recounted, as a file of format `fmt` (geojson, gpkg or csv)."""
    if fmt not in FORMATS:
        msg = f"不支持的格式 {fmt!r}，可选 {', '.join(FORMATS)} (unknown format)"
        raise InputError(msg)
    area = community_area(session, community)
    if features is not None:
        layer, label = edits.validate(session, community, features).layer, "draft"
    else:
        layer = version_layer(session, area, version)
        label = f"v{version}" if version is not None else "current"
    if layer.empty:
        msg = f"社区 {community} 还没有网格可导出 (community {community} has no grids to export)"
        raise InputError(msg)
    layer = layer.copy()
    layer["name"] = [grid_name(area.name or community, c) for c in layer["code"]]
    if "locked" not in layer.columns:
        layer["locked"] = False
    content = {"geojson": _geojson, "gpkg": _geopackage, "csv": _csv}[fmt](session, layer)
    media_type, suffix = FORMATS[fmt]
    kind = "楼栋网格对照" if fmt == "csv" else "网格"
    return Export(
        content,
        media_type,
        f"{area.name or community}{kind}-{community}-{label}.{suffix}",
        f"wangge-{community}-{label}{'-buildings' if fmt == 'csv' else ''}.{suffix}",
    )


def _geojson(session: Session, layer: gpd.GeoDataFrame) -> bytes:
    collection = geo_io.feature_collection(layer, LAYER_COLUMNS, id_column="code")
    return json.dumps(collection, ensure_ascii=False).encode()


def _geopackage(session: Session, layer: gpd.GeoDataFrame) -> bytes:
    frame = layer[[*LAYER_COLUMNS, "geometry"]].copy()
    frame["members"] = [json.dumps(m or [], ensure_ascii=False) for m in frame["members"]]
    frame["locked"] = frame["locked"].astype(bool)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.gpkg"
        frame.to_file(path, layer=GPKG_LAYER, driver="GPKG", engine="pyogrio")
        return path.read_bytes()


def _csv(session: Session, layer: gpd.GeoDataFrame) -> bytes:
    """One row per building and micro-grid (a building split across micro-grids has one row
    per part, with that part's households); micro_code empty in a layer without them."""
    B = models.Building
    grids = layer[layer["level"] == "grid"]
    micro = layer[layer["level"] == "micro"]
    parts: dict[str, list[tuple[str, int]]] = {}
    for code, members in zip(micro["code"], micro["members"], strict=True):
        for building, households in members or []:
            parts.setdefault(str(building), []).append((code, int(households)))
    rows = []
    top = grids if len(grids) else micro
    for code, members in zip(top["code"], top["members"], strict=True):
        grid_code = code[:15]
        for building, households in members or []:
            split = [p for p in parts.get(str(building), []) if p[0][:15] == grid_code]
            if not len(grids):
                split = [(code, int(households))]
            for micro_code, share in split or [("", int(households))]:
                rows.append((str(building), share, grid_code, micro_code))
    ids = sorted({r[0] for r in rows})
    found = session.execute(
        select(B.building_id, B.name, B.address).where(B.building_id.in_(ids))
    ).all()
    about = {b: (name or "", address or "") for b, name, address in found}
    names = dict(zip(layer["code"], layer["name"], strict=True))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for building, households, grid_code, micro_code in sorted(rows):
        name, address = about.get(building, ("", ""))
        grid = names.get(grid_code, "")
        writer.writerow([building, name, address, households, grid_code, grid, micro_code])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs see UTF-8


# -- import -----------------------------------------------------------------------------------


def import_draft(
    session: Session, community: str, filename: str, content: bytes
) -> edits.EditResult:
    """A draft layer from an uploaded file, recounted and validated; nothing is written.

    GeoJSON and GeoPackage files hold the layer's polygons (properties `code`, `level`,
    `parent_code`; the rest is recounted). A CSV (`building_id`, `grid_code`) names the grid
    of each building: the community's current layer with those buildings moved there.
    """
    if len(content) > MAX_IMPORT_BYTES:
        msg = f"文件超过 {MAX_IMPORT_BYTES // 2**20} MB 的上限 (the file is over the limit)"
        raise InputError(msg)
    if not content.strip():
        msg = f"文件 {filename} 是空的 (the file is empty)"
        raise InputError(msg)
    suffix = Path(filename or "").suffix.lower()
    community_area(session, community)  # NotFoundError for an unknown community
    if suffix in (".geojson", ".json"):
        return edits.validate(session, community, _geojson_features(content, filename))
    if suffix == ".gpkg":
        return edits.validate(session, community, _geopackage_features(content, filename))
    if suffix == ".csv":
        return _csv_draft(session, community, content, filename)
    msg = (
        f"无法导入 {filename!r}：请上传 .geojson、.gpkg 或 .csv 文件 (upload a GeoJSON, "
        "GeoPackage or building → grid CSV file)"
    )
    raise InputError(msg)


def _geojson_features(content: bytes, filename: str) -> list[dict]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        msg = f"{filename} 不是有效的 GeoJSON (not valid GeoJSON: {str(exc)[:120]})"
        raise InputError(msg) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        msg = f"{filename} 须为 GeoJSON FeatureCollection (expected a FeatureCollection)"
        raise InputError(msg)
    crs = data.get("crs")
    if crs not in (None, {}):
        name = str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
        if not name.upper().endswith(("CRS84", "EPSG::4326", "EPSG:4326")):
            msg = f"{filename}：坐标须为 WGS-84 经纬度 (coordinates must be WGS-84 lon/lat)"
            raise InputError(msg)
    features = data.get("features")
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        msg = f"{filename}：features 须为要素列表 (features must be a list of features)"
        raise InputError(msg)
    return features


def _geopackage_features(content: bytes, filename: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.gpkg"
        path.write_bytes(content)
        layer = GPKG_LAYER if GPKG_LAYER in _layers(path, filename) else None
        frame = geo_io.read_vector(path, layer=layer)
    if "code" not in frame.columns:
        msg = f"{filename}：缺少 code 列 (no code column; columns are {list(frame.columns)})"
        raise InputError(msg)
    frame["code"] = frame["code"].astype(str)
    collection = geo_io.feature_collection(frame, ["code", "level", "parent_code"])
    return collection["features"]


def _layers(path: Path, filename: str) -> list[str]:
    import pyogrio

    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # pyogrio raises several unrelated classes for unreadable files
        msg = f"{filename} 不是有效的 GeoPackage (not a readable GeoPackage)"
        raise InputError(msg) from None


def _csv_draft(session: Session, community: str, content: bytes, filename: str) -> edits.EditResult:
    try:
        table = pd.read_csv(io.BytesIO(content), dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{filename} 无法按 UTF-8 CSV 读取 (cannot read as UTF-8 CSV: {str(exc)[:120]})"
        raise InputError(msg) from None
    missing = [c for c in ("building_id", "grid_code") if c not in table.columns]
    if missing:
        listed = ", ".join(missing)
        msg = f"{filename}：缺少列 {listed} (missing column(s); need building_id and grid_code)"
        raise InputError(msg)
    table = table.fillna("")
    area = community_area(session, community)
    stored = version_layer(session, area, None)
    if stored.empty:
        msg = f"社区 {community} 还没有网格 (community {community} has no grids yet)"
        raise InputError(msg)
    grids = stored[stored["level"] == "grid"]
    owners = {
        str(b): code
        for code, members in zip(grids["code"], grids["members"], strict=True)
        for b, _ in members or []
    }
    wanted: dict[str, str] = {}
    for row, (building, code) in enumerate(
        zip(table["building_id"].str.strip(), table["grid_code"].str.strip(), strict=True),
        start=2,  # the header is line 1
    ):
        if building not in owners:
            msg = f"{filename} 第 {row} 行：本社区没有楼栋 {building[:64]!r} (no such building)"
            raise InputError(msg)
        if code not in set(grids["code"]):
            msg = f"{filename} 第 {row} 行：本社区没有网格 {code[:40]!r} (no such grid)"
            raise InputError(msg)
        if wanted.setdefault(building, code) != code:
            msg = f"{filename} 第 {row} 行：楼栋 {building} 被分到两个网格 (building listed twice)"
            raise InputError(msg)
    moves: dict[str, list[str]] = {}
    for building, code in wanted.items():
        if owners[building] != code:
            moves.setdefault(code, []).append(building)
    features = None
    result = edits.validate(session, community, _features(stored))
    for code, buildings in sorted(moves.items()):
        result = edits.move(session, community, sorted(buildings), code, features=features)
        features = _features(result.layer)
    result.report = {"imported": filename, "moved": sum(len(b) for b in moves.values())}
    return result


def _features(layer: gpd.GeoDataFrame) -> list[dict]:
    return geo_io.feature_collection(layer, ["code", "level", "parent_code", "members"])["features"]
