"""The street office's notices page /map/notices (desktop): compose a notice, pick its area
(whole district, street offices, communities, grids clicked on the map, or a drawn polygon),
send it (emergencies after a confirmation), then follow it on a live map colouring grids by
the share of households reached, with the time since sending and who has not acknowledged.
Everything after sign-in is fetched by maps/static/notices.js; the page holds no data but
the names of streets and communities, which reach the page as JSON text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import folium
from folium.plugins import Draw

from maps.assets import STATIC_URL
from maps.base import Legend, Verbatim, base_map, finish, signin_form, text_table
from maps.notices_text import notices_text

# share of households reached → colour (upper bounds), red to green
SHARE_COLOURS = ((0.0, "#bdbdbd"), (0.25, "#d7301f"), (0.5, "#fc8d59"), (0.75, "#fee08b"),
                 (0.999, "#a6d96a"), (1.0, "#1a9850"))  # fmt: skip


def build_notices_map(
    *,
    areas: Sequence[Mapping[str, str | None]] = (),
    bounds: Sequence[Sequence[float]] | None = None,
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """The page over `bounds`; `areas` lists communities with their street offices (code,
    name, street_code, street_name) for the area pickers."""
    m = base_map(bounds=bounds, tiles=tiles, attribution=attribution, lang=lang)
    t = text_table(lang) | notices_text(lang)
    layers = {
        "grids": folium.FeatureGroup(name=t["grids"]).add_to(m),
        "drawn": folium.FeatureGroup(name=t["area_polygon"]).add_to(m),
    }
    Draw(
        feature_group=layers["drawn"],
        draw_options={
            "polyline": False, "rectangle": False, "circle": False, "marker": False,
            "circlemarker": False, "polygon": {"allowIntersection": False, "showArea": False},
        },
        edit_options={"edit": False, "remove": False},
        show_geometry_on_click=False,
    ).add_to(m)  # fmt: skip
    Legend(
        t["share_legend"],
        [(f"background:{c}", _share_label(i)) for i, (_, c) in enumerate(SHARE_COLOURS)],
    ).add_to(m)
    head = f'<link rel="stylesheet" href="{STATIC_URL}/notices.css">'
    m.get_root().header.add_child(Verbatim(head), name="notices_css")
    config = {
        "areas": [dict(a) for a in areas],
        "shareColours": [list(pair) for pair in SHARE_COLOURS],
        "text": t,
        "refreshMs": 10_000,
    }
    return finish(m, page="notices", lang=lang, layers=layers, config=config,
                  panel_html=_panel(t, lang))  # fmt: skip


def _share_label(i: int) -> str:
    labels = ("0", "<25%", "25–50%", "50–75%", "75–99%", "100%")
    return labels[i]


def _panel(t: Mapping[str, str], lang: str) -> str:
    e = lambda key: escape(t[key])  # noqa: E731
    modes = "".join(
        f'<label><input type="radio" name="area-mode" value="{mode}"'
        f"{' checked' if mode == 'district' else ''}> {e('area_' + mode)}</label>"
        for mode in ("district", "streets", "communities", "grids", "polygon")
    )
    return f"""
<aside id="panel" class="wangge-panel notices-page">
  <header><h1>{e("notices_heading")}</h1><a id="lang-switch" href="#">{e("other_lang")}</a>
  </header>
{signin_form(lang)}
  <div id="status" role="status" aria-live="polite"></div>
  <section id="follow" hidden>
    <h2>{e("progress")}</h2>
    <label>{e("sent_notices")} <select id="sent-list"></select></label>
    <p id="progress-title" class="progress-head"></p>
    <p id="progress-since"></p>
    <p id="progress-line"></p>
    <h3 id="pending-head"></h3>
    <ul id="pending-list" class="pending-list"></ul>
  </section>
  <section id="compose" hidden>
    <h2>{e("compose")}</h2>
    <form id="notice-form">
      <label>{e("title_label")} <input type="text" name="title" maxlength="100" required></label>
      <label>{e("body_label")} <textarea name="body" maxlength="2000" required></textarea></label>
      <label>{e("level_label")} <select name="level">
        <option value="routine">{e("level_routine")}</option>
        <option value="emergency">{e("level_emergency")}</option></select></label>
      <fieldset><legend>{e("area_label")}</legend>
        <div class="area-pick">{modes}</div>
        <select id="area-list" multiple size="6" hidden></select>
        <p id="area-hint" class="picked"></p>
        <p id="picked" class="picked"></p>
      </fieldset>
      <button type="submit" id="btn-send">{e("send")}</button>
      <div id="confirm-box" class="confirm-box" hidden><p>{e("confirm_emergency")}</p>
        <button type="button" id="btn-confirm" class="send-emergency">{e("confirm_send")}</button>
        <button type="button" id="btn-cancel">{e("cancel")}</button></div>
    </form>
  </section>
</aside>"""
