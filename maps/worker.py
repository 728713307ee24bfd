"""The grid worker's phone app: after sign-in, their grids and buildings on a small map, the
case list (mine / my grids / overdue) and each case's detail with its timeline, photos,
navigation and actions. The data is fetched by maps/static/worker*.js with the worker's token;
the page is an installable PWA (manifest and service worker served by api/routes/worker_app.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import folium

from maps.assets import STATIC_URL
from maps.base import Legend, Verbatim, base_map, finish, signin_form, text_table
from maps.messages import text
from maps.worker_text import worker_text

STATUS_COLOURS = {
    "reported": "#7f8c8d",
    "dispatched": "#2471a3",
    "accepted": "#8e44ad",
    "in_progress": "#d68910",
    "escalated_community": "#c0392b",
    "resolved": "#1e8449",
}
OVERDUE = "#e60000"
SCRIPTS = ("worker_outbox.js", "worker_detail.js", "worker_notices.js", "worker_visits.js")
MANIFEST_URL = "/map/worker.webmanifest"
SERVICE_WORKER_URL = "/map/worker-sw.js"
THEME = "#1f6feb"


def build_worker_map(
    *,
    bounds: Sequence[Sequence[float]] | None = None,
    communities: Mapping[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """The worker's app over `bounds` ([[south, west], [north, east]]): empty layers for
    grids, buildings and cases, filled after sign-in by worker.js from the JSON APIs.
    `communities` maps community codes to the short names grids are called by (大行宫社区)."""
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
    config = {
        "statusColours": STATUS_COLOURS,
        "overdueColour": OVERDUE,
        "communities": dict(communities or {}),
        "serviceWorker": SERVICE_WORKER_URL,
        "text": text_table(lang) | worker_text(lang),
    }
    _app_head(m)
    return finish(
        m, page="worker", lang=lang, layers=layers, config=config, panel_html=_panel(lang)
    )


def _app_head(m: folium.Map) -> None:
    """The PWA's manifest and colours, the app's CSS and its helper scripts (which only define
    functions, so they may load before wangge.js)."""
    head = [
        f'<link rel="manifest" href="{MANIFEST_URL}">',
        f'<meta name="theme-color" content="{THEME}">',
        f'<link rel="apple-touch-icon" href="{STATIC_URL}/worker_icon_192.png">',
        f'<link rel="stylesheet" href="{STATIC_URL}/worker.css">',
        f'<link rel="stylesheet" href="{STATIC_URL}/notices.css">',
        f'<link rel="stylesheet" href="{STATIC_URL}/worker_visits.css">',
        *(f'<script src="{STATIC_URL}/{name}"></script>' for name in SCRIPTS),
    ]
    m.get_root().header.add_child(Verbatim("\n".join(head)), name="worker_app")


def _panel(lang: str) -> str:
    t = lambda key: escape((text_table(lang) | worker_text(lang))[key])  # noqa: E731
    filters = "".join(
        f'<button type="button" data-filter="{key}" aria-pressed="false">{t("filter_" + key)}'
        f' <span class="count"></span></button>'
        for key in ("mine", "grids", "overdue")
    )
    return f"""
<aside id="panel" class="wangge-panel worker-app">
  <header><h1>{t("worker_title")}</h1><a id="lang-switch" href="#">{t("other_lang")}</a></header>
{signin_form(lang)}
  <p id="outbox" class="outbox" hidden></p>
  <div id="status" role="status" aria-live="polite"></div>
  <div id="undo-bar" class="undo-bar" hidden><span></span>
    <button type="button" id="btn-undo">{t("undo")}</button></div>
  <section id="list-view">
    <h2>{t("my_grids")}</h2><p id="my-grids" class="hint"></p>
    <nav id="filters" class="filters">{filters}</nav>
    <ul id="case-list" class="case-list"></ul>
  </section>
  <section id="detail-view" hidden></section>
</aside>"""
