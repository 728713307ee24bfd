"""Estimating household counts of buildings where no count is given, only where people live.

For a building footprint with ``households`` missing::

    households = floor(area_m2 * floors * share / dwelling_m2)      (at least 1 if share * area > 0)

* ``area_m2``: footprint area measured in the data's UTM zone.
* ``floors``: the ``floors`` column where it is a positive number, else
  :data:`DEFAULT_FLOORS_BY_TYPE` for the building type, else :data:`FALLBACK_FLOORS` (3).
  apartments/residential 6: the six-storey walk-up is the commonest pre-2000 Chinese housing
  block; dormitory 5: campus and factory dormitories are mostly 4-6 storeys; house, detached,
  semidetached_house, terrace 2 and bungalow 1: low-rise by definition; 'yes' (untyped) 3: a
  mix of low shops and taller blocks, kept low so unknown buildings do not dominate a grid.
* ``share``: part of the floor area that is dwellings, decided by :func:`classify_buildings`
  (below) together with the rule that decided it.
* ``dwelling_m2`` = 90: gross floor area per household (about 35 m² per person × 2.6 persons
  per household, plus stairwells and walls).
* The floor has a tolerance of 1e-6 so that an exact result (40.0) that round-off brings to
  39.9999999 still counts as 40.

A building without a footprint (a Point, or no geometry) gets
``floor(POINT_DWELLINGS_BY_TYPE[type] * share)`` (at least 1 if share > 0): 24 for blocks
(one six-storey walk-up with two stairwells and two flats per landing), 1 for a house or
bungalow, 2 for a semi-detached house, 4 for a terrace; other types with share > 0 use
:data:`DEFAULT_POINT_DWELLINGS` (24); untyped points thus get 12.

Residential or not (:func:`classify_buildings`)
-----------------------------------------------
Each building gets a residential ``share`` and a readable ``households_rule`` (Chinese), from the
first rule that applies:

1. Station: ``railway``/``public_transport`` = station → 0 ("非住宅：车站（railway=station）").
2. Residential type (:data:`RESIDENTIAL_SHARE_BY_TYPE`: apartments, residential, dormitory,
   house, detached, semidetached_house, terrace, bungalow) → its share; with a use tag
   (amenity, shop, office, tourism, healthcare) or a POI inside the footprint it is mixed use
   (商住, shops on the ground floor) and keeps :data:`MIXED_SHARE` = 0.8 of it.
3. ``building:use`` = residential → 1; any other ``building:use`` → 0.
4. Any other explicit type (office, commercial, retail, school, university, hospital, hotel,
   civic, …) → 0, unless the name says people live there (:data:`DWELLING_WORDS`: 宿舍, 公寓,
   住宅 …), then 1.
5. Untyped ('yes', empty) buildings, in order:
   a use tag on the building itself (amenity, shop, office, tourism, healthcare, education,
   leisure, military) → 0; a name with 商住 → 0.5; a name with a dwelling word → 1; a name
   with a non-residential word (:data:`NON_RESIDENTIAL_WORDS`: 大厦, 广场, 中心, 酒店, 银行,
   学院, 实验室, 医院, 图书馆, 地铁站, 体育馆 …, or ending in 馆, 堂, 室, 亭, 站, 局, 所, 院, 库,
   厅) → 0; a name of a housing estate (:data:`ESTATE_WORDS`: 小区, 花园, 新村, 家园, 公馆 …, or
   ending in 苑, 里, 弄, 村, 庄) → 1; a POI inside that takes a whole building
   (:data:`WHOLE_BUILDING_POIS`: a mall, a hospital, a bank, an office …) → 0; any other
   POI inside (a shop, a restaurant) → 0.5; standing in residential land → 1; in commercial,
   retail, industrial, military or education land, or on the grounds of a school, university
   or hospital → 0; a footprint under :data:`SMALL_FOOTPRINT_M2` (20 m²: kiosks, guard houses,
   toilets) → 0; otherwise :data:`UNKNOWN_RESIDENTIAL_SHARE` (0.5).
"""

from __future__ import annotations

import re
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
    "classify_buildings",
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

MIXED_SHARE = 0.8
SMALL_FOOTPRINT_M2 = 20.0
#: Name words saying people live there, whatever the building type.
DWELLING_WORDS = ("宿舍", "公寓", "住宅", "新寓", "寓所", "住宿楼", "家属楼", "职工楼")
#: Name words of buildings nobody lives in.
NON_RESIDENTIAL_WORDS = (
    "大厦", "广场", "中心", "酒店", "饭店", "宾馆", "旅馆", "银行", "证券", "保险", "学院",
    "实验室", "医院", "卫生", "诊所", "图书馆", "地铁站", "体育馆", "体育场", "健身", "商场",
    "商城", "商厦", "百货", "超市", "写字楼", "办公", "博物馆", "美术馆", "纪念馆", "会展",
    "剧院", "影院", "学校", "小学", "中学", "幼儿园", "大学", "教学楼", "食堂", "礼堂", "政府",
    "法院", "检察院", "派出所", "公安", "教堂", "仓库", "车库", "停车", "厕所", "中转站",
    "总统府", "门楼", "招生办", "国际",
)  # fmt: skip
#: Last characters of names of buildings nobody lives in (五台山体育馆, 大堂, 配电室, 毓秀亭 …).
NON_RESIDENTIAL_ENDINGS = "馆堂室亭站局所院库厅"
#: Name words of housing estates.
ESTATE_WORDS = ("小区", "花园", "新村", "家园", "公馆", "山庄", "别墅", "名苑", "雅苑")
#: Last characters of housing estate names (…苑, 仁寿里, …弄, …村), before a building number.
ESTATE_ENDINGS = "苑里弄村庄"
#: POIs that take a whole building: with one inside, nobody lives there.
WHOLE_BUILDING_POIS = {
    "amenity": frozenset({
        "hospital", "school", "university", "college", "kindergarten", "library", "townhall",
        "courthouse", "police", "fire_station", "bank", "cinema", "theatre", "arts_centre",
        "place_of_worship", "conference_centre", "exhibition_centre", "parking", "fuel",
    }),
    "shop": frozenset({"mall", "department_store", "supermarket"}),
    "office": None,  # every office
}  # fmt: skip
#: Land use where nobody lives (``landuse``/``military`` values, ``amenity`` grounds).
NON_RESIDENTIAL_LAND = frozenset({
    "commercial", "retail", "industrial", "military", "education", "religious", "railway",
    "garages", "school", "university", "college", "kindergarten", "hospital",
    "barracks", "danger_area", "training_area",
})  # fmt: skip
_BUILDING_USE_KEYS = ("amenity", "shop", "office", "tourism", "healthcare")
_SITE_USE_KEYS = (*_BUILDING_USE_KEYS, "education", "leisure", "military")
_STATION_VALUES = frozenset({"station", "halt", "subway_entrance"})
_NUMBER_SUFFIX = re.compile(r"[\s\d０-９一二三四五六七八九十A-Za-z#＃\-－]*(?:号楼|栋|幢|座|号)?$")


def parse_tags(text: object) -> dict[str, str]:
    """'key=value;key=value' (geo.osm's ``tags`` column) as a dict; anything else gives {}."""
    if not isinstance(text, str):
        return {}
    pairs = (part.split("=", 1) for part in text.split(";") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def _word(name: str, words: Iterable[str]) -> str | None:
    return next((w for w in words if w in name), None)


def _ending(name: str, endings: str) -> str | None:
    stem = _NUMBER_SUFFIX.sub("", name.strip()).rstrip("（()） ")
    return stem[-1] if stem and stem[-1] in endings else None


def _named(name: str) -> tuple[float, str] | None:
    """The untyped-building rules on the name alone (商住, dwelling, non-residential, estate)."""
    if "商住" in name:
        return 0.5, "商住：名称含“商住”"
    if word := _word(name, DWELLING_WORDS):
        return 1.0, f"住宅：名称含“{word}”"
    if word := _word(name, NON_RESIDENTIAL_WORDS) or _ending(name, NON_RESIDENTIAL_ENDINGS):
        return 0.0, f"非住宅：名称含“{word}”"
    if word := _word(name, ESTATE_WORDS) or _ending(name, ESTATE_ENDINGS):
        return 1.0, f"住宅：名称含“{word}”（小区）"
    return None


def _whole_building(kind: str, value: str) -> bool:
    values = WHOLE_BUILDING_POIS.get(kind, frozenset())
    return kind in WHOLE_BUILDING_POIS and (values is None or value in values)


def _classify_one(
    btype: str,
    name: str,
    tags: Mapping[str, str],
    pois: list[tuple[str, str]],
    land: tuple[str, str, str] | None,
    area: float,
    shares: Mapping[str, float],
    unknown_share: float,
) -> tuple[float, str]:
    for key in ("railway", "public_transport"):
        if tags.get(key) in _STATION_VALUES:
            return 0.0, f"非住宅：车站（{key}={tags[key]}）"
    uses = [(k, tags[k]) for k in _BUILDING_USE_KEYS if k in tags]
    if shares.get(btype, 0.0) > 0:
        share = shares[btype]
        if uses or pois:
            k, v = (uses or pois)[0]
            where = "有" if uses else "内有"
            return share * MIXED_SHARE, f"商住：building={btype}，{where} {k}={v}"
        return share, f"住宅：building={btype}"
    if "building:use" in tags:
        use = tags["building:use"]
        return (
            (1.0, "住宅：building:use=residential")
            if use == "residential"
            else (
                0.0,
                f"非住宅：building:use={use}",
            )
        )
    if btype not in UNKNOWN_TYPES:
        if word := _word(name, DWELLING_WORDS):
            return 1.0, f"住宅：名称含“{word}”（building={btype}）"
        return 0.0, f"非住宅：building={btype}"
    site_uses = [(k, tags[k]) for k in _SITE_USE_KEYS if k in tags]
    if site_uses:
        k, v = site_uses[0]
        return 0.0, f"非住宅：{k}={v}"
    if name and (named := _named(name)):
        return named
    whole = [(k, v) for k, v in pois if _whole_building(k, v)]
    if whole:
        return 0.0, f"非住宅：内有 {whole[0][0]}={whole[0][1]}"
    if pois:
        return 0.5, f"商住：内有 {pois[0][0]}={pois[0][1]}"
    if land is not None:
        key, value, land_name = land
        shown = f"{key}={value}" + (f"（{land_name}）" if land_name else "")
        if key == "landuse" and value == "residential":
            return 1.0, f"住宅：位于 {shown} 内"
        if value in NON_RESIDENTIAL_LAND:
            return 0.0, f"非住宅：位于 {shown} 内"
    if 0 < area < SMALL_FOOTPRINT_M2:
        return 0.0, f"非住宅：占地不足 {SMALL_FOOTPRINT_M2:g} m²"
    return (
        unknown_share,
        f"未知：building={btype or 'yes'}，用途不明，按 {unknown_share:.0%} 住宅估计",
    )


def _pois_inside(buildings: gpd.GeoDataFrame, pois: gpd.GeoDataFrame | None) -> list[list]:
    found: list[list] = [[] for _ in range(len(buildings))]
    if pois is None or pois.empty or buildings.empty:
        return found
    require_crs(pois, name="pois")
    points = pois[["kind", "value", pois.geometry.name]].reset_index(drop=True)
    shapes = gpd.GeoDataFrame(geometry=buildings.geometry.to_numpy(), crs=buildings.crs)
    hits = gpd.sjoin(points, shapes, predicate="within", how="inner")
    for position, kind, value in zip(hits["index_right"], hits["kind"], hits["value"], strict=True):
        found[int(position)].append((str(kind), str(value)))
    return found


def _land_under(
    buildings: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame | None
) -> list[tuple[str, str, str] | None]:
    """For each building, the smallest land-use area containing a point inside it."""
    found: list = [None] * len(buildings)
    if landuse is None or landuse.empty or buildings.empty:
        return found
    require_crs(landuse, name="landuse")
    areas = landuse.reset_index(drop=True)
    sizes = to_metric(areas[[areas.geometry.name]]).area.to_numpy()
    points = gpd.GeoDataFrame(
        geometry=buildings.geometry.representative_point().to_numpy(), crs=buildings.crs
    )
    hits = gpd.sjoin(points, areas[[areas.geometry.name]], predicate="within", how="inner")
    best: dict[int, int] = {}
    for position, area_row in zip(hits.index, hits["index_right"], strict=True):
        if position not in best or sizes[area_row] < sizes[best[position]]:
            best[position] = int(area_row)
    names = areas["name"] if "name" in areas.columns else pd.Series(None, index=areas.index)
    for position, row in best.items():
        name = names.iloc[row]
        found[int(position)] = (
            str(areas["key"].iloc[row]),
            str(areas["value"].iloc[row]),
            "" if pd.isna(name) else str(name),
        )
    return found


def classify_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    landuse: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
    residential_types: Mapping[str, float] | Iterable[str] | None = None,
    unknown_share: float = UNKNOWN_RESIDENTIAL_SHARE,
    default_type: str = "yes",
) -> gpd.GeoDataFrame:
    """Decide how much of each building is dwellings, and by which rule (see module docstring).

    Parameters
    ----------
    buildings : GeoDataFrame
        EPSG:4326 buildings; optional columns ``building_type``, ``name`` and ``tags``
        ('key=value;…', as :func:`geo.osm.read_osm` gives).
    landuse : GeoDataFrame, optional
        EPSG:4326 land-use areas with ``key`` ('landuse', 'military', 'amenity'), ``value`` and
        optional ``name`` (``read_osm(...).landuse``).
    pois : GeoDataFrame, optional
        EPSG:4326 points with ``kind`` ('amenity', 'shop', 'office', …) and ``value``.
    residential_types, unknown_share, default_type
        As in :func:`estimate_households`.

    Returns
    -------
    GeoDataFrame
        A copy with ``residential_share`` (float in [0, 1]) and ``households_rule`` (text).

    Examples
    --------
    >>> out = classify_buildings(frame, landuse=osm.landuse, pois=osm.pois)  # doctest: +SKIP
    >>> out.loc[0, "households_rule"]  # doctest: +SKIP
    '非住宅：名称含“大厦”'
    """
    require_crs(buildings, name="buildings")
    out = buildings.copy()
    shares = _shares(residential_types)
    types = _types(out, default_type)
    names = _text_column(out, "name")
    tags = [parse_tags(t) for t in _text_column(out, "tags")]
    polygonal = out.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    area = np.zeros(len(out))
    if polygonal.any():
        area[polygonal] = to_metric(out.loc[polygonal, [out.geometry.name]]).area.to_numpy()
    inside = _pois_inside(out, pois)
    land = _land_under(out, landuse)
    decided = [
        _classify_one(*row, shares, unknown_share)
        for row in zip(types, names, tags, inside, land, area, strict=True)
    ]
    out["residential_share"] = np.array([d[0] for d in decided], dtype="float64")
    out["households_rule"] = pd.Series([d[1] for d in decided], index=out.index, dtype=object)
    return out


def _types(frame: pd.DataFrame, default_type: str) -> list[str]:
    if "building_type" not in frame.columns:
        return [default_type.lower()] * len(frame)
    raw = frame["building_type"].astype(object)
    return [str(t).strip().lower() for t in raw.where(raw.notna(), default_type)]


def _text_column(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return [""] * len(frame)
    return ["" if v is None or pd.isna(v) else str(v) for v in frame[column]]


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
    landuse: gpd.GeoDataFrame | None = None,
    pois: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Fill missing ``households`` with an estimate from footprint, floors and residential share.

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
    landuse, pois : GeoDataFrame, optional
        Land-use areas and points of interest for :func:`classify_buildings`. A frame that
        already has ``residential_share`` is not classified again.

    Returns
    -------
    GeoDataFrame
        A copy with ``households`` as int64 (given values unchanged), ``households_estimated``
        (bool: True where this call filled the value or it was True already),
        ``floors_estimated`` (bool: True where an estimate used a default storey count;
        ``floors`` itself is left as given), ``households_source`` ('estimated' where filled,
        else as given or 'given') and ``households_rule`` (the rule of each estimate).

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
    given = _given_households(buildings)
    missing = given.isna().to_numpy()
    out = buildings
    if "residential_share" not in out.columns:
        out = classify_buildings(
            out,
            landuse=landuse,
            pois=pois,
            residential_types=residential_types,
            unknown_share=unknown_share,
            default_type=default_type,
        )
    else:
        out = out.copy()
    types = pd.Series(_types(out, default_type), index=out.index, dtype=object)
    share = pd.to_numeric(out["residential_share"]).fillna(0.0).to_numpy(dtype="float64")

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
    sources = _text_column(out, "households_source")
    out["households_source"] = [
        "estimated" if m else (src or "given") for m, src in zip(missing, sources, strict=True)
    ]
    rules = _text_column(out, "households_rule")
    out["households_rule"] = pd.Series(
        [r if m else None for m, r in zip(missing, rules, strict=True)],
        index=out.index,
        dtype=object,
    )
    out["households_estimated"] = _flag(out, "households_estimated") | missing
    used_default_floors = missing & polygonal & residential & ~has_floors
    out["floors_estimated"] = _flag(out, "floors_estimated") | used_default_floors
    return out


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """An existing boolean column as a numpy bool array (missing → False)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
