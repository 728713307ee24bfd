"""The planner's page: grids and micro-grids coloured by households against the bounds,
buildings, barrier roads, and the editing tools (maps/static/planner.js drives the edits
through /api/grids/*)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from html import escape

import folium
import geopandas as gpd
from folium.plugins import Draw, VectorGridProtobuf

from maps.assets import PageAssets
from maps.base import Legend, base_map, bounds_of, finish, geojson, signin_form
from maps.messages import text

GRID_BOUNDS = (300, 500)
MICRO_BOUNDS = (30, 50)
#: Households against the bounds on their own scale; red and amber are kept for errors and
#: warnings, so an over-filled grid is purple, never the red of an error.
STATUS_COLOURS = {"under": "#3b82c4", "within": "#3a9d4f", "over": "#8e44ad"}
PROBLEM_COLOURS = {"error": "#c00", "warning": "#d08700"}
LEVEL_STYLE = {
    "grid": {"weight": 2.5, "opacity": 0.9, "fillOpacity": 0.22},
    "micro": {"weight": 0.8, "opacity": 0.8, "fillOpacity": 0.12, "dashArray": "3 3"},
}
#: Community outlines: official solid, approximate dashed (and named in the legend).
OUTLINE_STYLE = {
    "official": {"color": "#6a3d9a", "weight": 2, "fill": False},
    "approximate": {"color": "#6a3d9a", "weight": 2, "fill": False, "dashArray": "10 6"},
}
APPROXIMATE_LEGEND = "border:2px dashed #6a3d9a;background:none"
BUILDING_STYLE = {"color": "#555", "weight": 0.6, "fillColor": "#9a9a9a", "fillOpacity": 0.6}
BARRIER_STYLE = {"color": "#333", "weight": 4, "opacity": 0.7}
GRID_COLUMNS = (
    "code", "level", "parent_code", "households", "community_code", "locked", "status",
    "building_count",
)  # fmt: skip
TILE_LAYERS = ("grids", "micro_grids", "buildings")
#: planner.js's helpers: grid names, tallies and labels; brush, lasso and session undo.
PLANNER_SCRIPTS = ("planner_tally.js", "planner_tools.js", "planner_compare.js")


def bound_status(households: int, level: str, grid_bounds=GRID_BOUNDS, micro_bounds=MICRO_BOUNDS):
    """'under', 'within' or 'over' the household bounds of the level."""
    lo, hi = grid_bounds if level == "grid" else micro_bounds
    return "under" if households < lo else "over" if households > hi else "within"


def grid_style(level: str, status: str, *, locked: bool = False) -> dict:
    colour = STATUS_COLOURS[status]
    style = {"color": colour, "fillColor": colour, **LEVEL_STYLE[level]}
    if locked:
        style |= {"color": "#222", "dashArray": "8 4"}
    return style


def _grid_layer(frame: gpd.GeoDataFrame, level: str, lang: str) -> folium.GeoJson:
    return folium.GeoJson(
        geojson(frame, GRID_COLUMNS),
        name=text("grids" if level == "grid" else "micro_grids", lang),
        style_function=lambda f: grid_style(
            f["properties"]["level"], f["properties"]["status"], locked=f["properties"]["locked"]
        ),
        show=True,  # tooltips (name and households, as text) bound by planner.js
    )


def _tile_layer(layer: str, options: str, lang: str) -> VectorGridProtobuf:
    url = f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"
    return VectorGridProtobuf(url, text(layer, lang), options)


def _tile_options(layer: str, style_call: str) -> str:
    feature_id = "function (f) { return f.properties.code || f.properties.building_id; }"
    return (
        f'{{"vectorTileLayerStyles": {{"{layer}": {style_call}}}, "interactive": true,'
        f' "maxNativeZoom": 20, "getFeatureId": {feature_id}}}'
    )


def build_planner_map(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    *,
    areas: Sequence[Mapping] = (),
    bounds: Sequence[Sequence[float]] | None = None,
    selected: Mapping[str, str | None] | None = None,
    workers: Mapping[str, Sequence[Mapping]] | None = None,
    layers: Collection[str] = TILE_LAYERS,
    outlines: gpd.GeoDataFrame | None = None,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    vector_tiles: Collection[str] = (),
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """The planner's map of the selected street office or community.

    Parameters
    ----------
    grids : GeoDataFrame
        Current layer, both levels (EPSG:4326): code, level, parent_code, households,
        community_code, locked. Layers named in `vector_tiles` are drawn from /tiles instead
        (their rows may then be left out).
    buildings, barriers : GeoDataFrame, optional
        Buildings (building_id, households; footprints or points) and barrier roads (class).
    areas : sequence of mappings
        The picker's entries: street_code, street_name, code, name (one per community).
    bounds : [[south, west], [north, east]], optional
        What to show; the extent of the grids and buildings by default.
    selected : mapping
        {"street": code or None, "community": code or None}: what is shown.
    workers : mapping
        Grid code → [{"name", "role"}] of the workers serving it.
    layers : collection of str
        Layers among grids, micro_grids, buildings to show (all three by default).
    vector_tiles : collection of str
        Layers among grids, micro_grids, buildings to draw as vector tiles.
    outlines : GeoDataFrame, optional
        Community outlines (code, name, boundary_source); approximate ones are dashed and
        the legend says so.
    """
    unknown = set(vector_tiles) - set(TILE_LAYERS)
    if unknown:
        msg = f"no vector tiles for layer(s) {sorted(unknown)}; expected some of {TILE_LAYERS}"
        raise ValueError(msg)
    selected = dict(selected or {})
    grids = grids.copy()
    if len(grids):
        grids["status"] = [
            bound_status(int(h), lv, grid_bounds, micro_bounds)
            for h, lv in zip(grids["households"], grids["level"], strict=True)
        ]
        grids["locked"] = grids["locked"].fillna(False).astype(bool)
    else:
        grids["status"] = []
    m = base_map(
        bounds=bounds or bounds_of(grids, buildings),
        tiles=tiles,
        attribution=attribution,
        lang=lang,
    )
    elements: dict[str, folium.Element | None] = {}
    styles = {"colours": STATUS_COLOURS, "levels": LEVEL_STYLE}
    bounds_js = {"grid": list(grid_bounds), "micro": list(micro_bounds)}
    for level, layer in (("micro", "micro_grids"), ("grid", "grids")):
        if layer not in layers:
            continue
        if layer in vector_tiles:
            call = f"wangge.gridTileStyle({_json(styles)}, {_json(bounds_js)})"
            elements[layer] = _tile_layer(layer, _tile_options(layer, call), lang).add_to(m)
        else:
            part = grids[grids["level"] == level] if len(grids) else grids
            elements[layer] = _grid_layer(part, level, lang).add_to(m)
    if "buildings" not in layers:
        pass
    elif "buildings" in vector_tiles:
        call = f"wangge.plainTileStyle({_json(BUILDING_STYLE)})"
        options = _tile_options("buildings", call)
        elements["buildings"] = _tile_layer("buildings", options, lang).add_to(m)
    elif buildings is not None:
        elements["buildings"] = folium.GeoJson(
            geojson(buildings, ("building_id", "title", "households", "name", "address")),
            name=text("buildings", lang),
            style_function=lambda f: BUILDING_STYLE,
        ).add_to(m)  # tooltips bound by planner.js as text (folium's would be HTML)
    if barriers is not None and len(barriers):
        elements["barriers"] = folium.GeoJson(
            geojson(barriers, ("class", "name")),
            name=text("barriers", lang),
            style_function=lambda f: BARRIER_STYLE,
        ).add_to(m)
    approximate = _outlines(outlines, lang, elements, m)
    drawn = folium.FeatureGroup(name=text("drawn", lang)).add_to(m)
    elements["drawn"] = drawn
    draw = Draw(
        feature_group=drawn,
        draw_options={
            "polyline": False,
            "rectangle": False,
            "circle": False,
            "marker": False,
            "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": False},
        },
        edit_options={"edit": False, "remove": True},
        show_geometry_on_click=False,
    ).add_to(m)
    elements["draw"] = draw
    Legend(
        text("legend", lang),
        [
            (f"background:{STATUS_COLOURS[s]};opacity:.7", text(s, lang))
            for s in ("under", "within", "over")
        ]
        + [
            ("border:2px dashed #222;background:none", text("locked", lang)),
            (f"background:{BARRIER_STYLE['color']};height:4px", text("barriers", lang)),
            (
                f"background:repeating-linear-gradient(45deg,{PROBLEM_COLOURS['error']} 0 3px,"
                "#fdd 3px 6px)",
                text("legend_error", lang),
            ),
            (  # drawn as an outline only, over the households colour
                f"border:2px dashed {PROBLEM_COLOURS['warning']};background:none",
                text("legend_warning", lang),
            ),
        ]
        + ([(APPROXIMATE_LEGEND, text("approximate_boundary", lang))] if approximate else []),
    ).add_to(m)
    config = {
        "selected": selected,
        "workers": dict(workers or {}),
        "bounds": bounds_js,
        "styles": styles,
        "problemColours": PROBLEM_COLOURS,
        "communities": {a["code"]: a["name"] for a in areas},
        "vectorTiles": sorted(vector_tiles),
    }
    page = finish(
        m,
        page="planner",
        lang=lang,
        layers=elements,
        config=config,
        panel_html=_panel(areas, selected, lang),
    )
    PageAssets(*PLANNER_SCRIPTS).add_to(page)
    return page


def _outlines(outlines, lang: str, elements: dict, m: folium.Map) -> bool:
    """Draw the community outlines (names bound as text by planner.js); True when some are
    approximate."""
    if outlines is None or not len(outlines):
        return False
    elements["communities"] = folium.GeoJson(
        geojson(outlines, ("code", "name", "boundary_source")),
        name=text("community", lang),
        style_function=lambda f: OUTLINE_STYLE[f["properties"]["boundary_source"]],
    ).add_to(m)
    return bool((outlines["boundary_source"] == "approximate").any())


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _panel(areas: Sequence[Mapping], selected: Mapping, lang: str) -> str:
    t = lambda key: escape(text(key, lang))  # noqa: E731
    streets: dict[str, str] = {}
    for a in areas:
        if a.get("street_code"):
            streets.setdefault(a["street_code"], a.get("street_name") or a["street_code"])
    street = selected.get("street")
    community = selected.get("community")
    street_options = "".join(
        f'<option value="{escape(code)}"{" selected" if code == street else ""}>'
        f"{escape(name)}</option>"
        for code, name in sorted(streets.items())
    )
    community_options = "".join(
        f'<option value="{escape(a["code"])}" data-street="{escape(a.get("street_code") or "")}"'
        f"{' selected' if a['code'] == community else ''}>{escape(a['name'])}</option>"
        for a in areas
    )
    button = lambda key, kind="": (  # noqa: E731
        f'<button type="button" id="btn-{key.replace("_", "-")}" class="{kind}">{t(key)}</button>'
    )
    return f"""
<aside id="panel" class="wangge-panel">
  <header><h1>{t("planner_title")}</h1><a id="lang-switch" href="#">{t("other_lang")}</a></header>
{signin_form(lang)}
  <section id="area">
    <label>{t("street")} <select id="street-select"><option value="">{t("choose")}</option>
      {street_options}</select></label>
    <label>{t("community")} <select id="community-select">
      <option value="">{t("all_communities")}</option>{community_options}</select></label>
  </section>
  <section id="level"><span>{t("show_level")}</span>
    <label><input type="radio" name="level" value="grid" checked> {t("grids")}</label>
    <label><input type="radio" name="level" value="micro"> {t("micro_grids")}</label>
  </section>
  <section id="info"><p class="hint">{t("click_grid")}</p></section>
  <section id="edit">
    <h2>{t("edit")}</h2>
    <div class="buttons">
      {button("edit_vertices")}{button("draw_boundary")}{button("move")}
      {button("split")}{button("merge")}{button("lock")}{button("unlock")}
      {button("regenerate")}{button("repair")}
    </div>
    <div class="buttons tools">
      {button("brush")}{button("lasso")}
      <label class="brush-size">{t("brush_size")}
        <input id="brush-size" type="range" min="8" max="80" value="24"></label>
      {button("session_undo")}{button("session_redo")}
    </div>
    <div class="buttons">
      {button("validate")}{button("save", "primary")}{button("discard")}{button("undo")}
    </div>
    <p id="edit-state" class="hint">{t("no_changes")}</p>
  </section>
  <section id="problems"><h2>{t("problems")}</h2><ul id="problem-list"></ul></section>
  <section id="tally"><h2>{t("tally")}</h2><p class="hint">{t("tally_hint")}</p>
    <table id="tally-table" class="tally"></table></section>
  <section id="history"><h2>{t("history")}</h2><ul id="history-list"></ul>
    <div id="diff"></div></section>
  <div id="status" role="status" aria-live="polite"></div>
</aside>"""
