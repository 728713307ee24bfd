"""The grid worker's page: after sign-in, their grids and micro-grids, buildings with household
counts, open cases as markers coloured by status (red ring when overdue) and a list with the
actions. The data is fetched by maps/static/worker.js with the worker's token."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import folium

from maps.base import Legend, base_map, finish, signin_form
from maps.messages import text

STATUS_COLOURS = {
    "reported": "#7f8c8d",
    "dispatched": "#2471a3",
    "accepted": "#8e44ad",
    "in_progress": "#d68910",
    "escalated_community": "#c0392b",
    "resolved": "#1e8449",
}
OVERDUE = "#e60000"


def build_worker_map(
    *,
    bounds: Sequence[Sequence[float]] | None = None,
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """The worker's map shell over `bounds` ([[south, west], [north, east]]): empty layers for
    grids, buildings and cases, filled after sign-in by worker.js from the JSON APIs."""
    m = base_map(bounds=bounds, tiles=tiles, attribution=attribution, lang=lang)
    layers = {
        key: folium.FeatureGroup(name=text(key, lang)).add_to(m)
        for key in ("grids", "buildings", "cases")
    }
    Legend(
        text("legend", lang),
        [
            (f"background:{colour};border-radius:50%", text(f"status_{status}", lang))
            for status, colour in STATUS_COLOURS.items()
            if status != "reported"
        ]
        + [(f"border:3px solid {OVERDUE};border-radius:50%", text("overdue", lang))],
    ).add_to(m)
    config = {"statusColours": STATUS_COLOURS, "overdueColour": OVERDUE}
    return finish(
        m, page="worker", lang=lang, layers=layers, config=config, panel_html=_panel(lang)
    )


def _panel(lang: str) -> str:
    t = lambda key: escape(text(key, lang))  # noqa: E731
    return f"""
<aside id="panel" class="wangge-panel">
  <header><h1>{t("worker_title")}</h1><a id="lang-switch" href="#">{t("other_lang")}</a></header>
{signin_form(lang)}
  <section><h2>{t("my_grids")}</h2><p id="my-grids" class="hint"></p></section>
  <section><h2>{t("open_cases")}</h2><ul id="case-list" class="case-list"></ul></section>
  <div id="status" role="status" aria-live="polite"></div>
</aside>"""
