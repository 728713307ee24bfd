"""The resident's pages, phone first and light (Leaflet and two small files, no folium):
/map/report (place, category, description, photos, contact) and /map/report/<receipt> (the
status page). Data reaches the page only as JSON in a script element, read by report.js."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from html import escape

from maps.assets import STATIC_DIR, STATIC_URL, VENDOR_URL
from maps.report_text import ICONS, table

HEAD = """<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{title}</title>
{css}<link rel="stylesheet" href="{static}/report.css">
</head>"""


FA_SOLID = STATIC_DIR / "vendor/node_modules/@fortawesome/fontawesome-free/svgs/solid"


@lru_cache
def icon(name: str) -> str:
    """A Font Awesome solid icon as inline SVG (its licence comment kept); names are ours."""
    svg = (FA_SOLID / f"{name}.svg").read_text(encoding="utf-8")
    return svg.replace("<svg ", '<svg class="icon" aria-hidden="true" fill="currentColor" ', 1)


def _json(data: Mapping) -> str:
    """JSON safe inside <script>: no '</' or '<!--' can end or bend the element."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def _page(mode: str, lang: str, title_key: str, body: str, config: Mapping, *, map_: bool):
    text = table(lang)
    css = f'<link rel="stylesheet" href="{VENDOR_URL}/leaflet/dist/leaflet.css">\n' if map_ else ""
    js = f'<script src="{VENDOR_URL}/leaflet/dist/leaflet.js"></script>' if map_ else ""
    full = {"mode": mode, "lang": lang, "text": text, **config}
    head = HEAD.format(
        html_lang="en" if lang == "en" else "zh-CN", title=escape(text[title_key]), css=css,
        static=STATIC_URL,
    )  # fmt: skip
    other = "zh" if lang == "en" else "en"
    return f"""{head}
<body class="report" data-mode="{mode}">
<header class="bar"><h1>{escape(text[title_key])}</h1>
<a id="lang-switch" href="?lang={other}">{escape(text["other_lang"])}</a></header>
<main>{body}</main>
<script type="application/json" id="report-config">{_json(full)}</script>
{js}<script src="{STATIC_URL}/wangge.js"></script><script src="{STATIC_URL}/report.js"></script>
</body></html>"""


def build_report_page(
    categories: Iterable[Mapping],
    *,
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
    bounds: list[list[float]] | None = None,
) -> str:
    """The report form. `categories`: the catalog rows (code, name, name_en, parent)."""
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    cats = [
        {"code": c["code"], "name": c["name"] if lang != "en" else c["name_en"],
         "parent": c["parent"]}
        for c in categories
    ]  # fmt: skip
    buttons = "".join(
        f'<button type="button" class="cat" role="radio" aria-checked="false" '
        f'data-code="{escape(c["code"])}">{icon(ICONS.get(c["code"], "circle-question"))}'
        f"<span>{escape(c['name'])}</span></button>"
        for c in cats
        if not c["parent"]
    )
    has_tiles = bool(tiles) and tiles.strip().lower() not in ("", "none")
    config = {
        "categories": cats,
        "tiles": tiles if has_tiles else None,
        "attribution": attribution,
        "bounds": bounds,
    }
    body = f"""
<section id="place"><h2>{t("step_place")}</h2>
  <div id="map" class="report-map"></div>
  <div class="row"><button type="button" id="btn-locate">{icon("location-crosshairs")}
    {t("my_location")}</button></div>
  <p id="place-note" class="hint">{t("place_hint")}</p></section>
<section id="category"><h2>{t("step_category")}</h2>
  <div id="categories" class="cats" role="radiogroup">{buttons}</div>
  <label id="sub-label" hidden>{t("subcategory")} <select id="subcategory"></select></label>
</section>
<section id="nearby" hidden><h2>{t("nearby_title")}</h2><p class="hint">{t("nearby_hint")}</p>
  <ul id="nearby-list" class="nearby"></ul></section>
<section><h2>{t("step_description")}</h2>
  <textarea id="description" rows="4" maxlength="2000"
    placeholder="{t("description_placeholder")}"></textarea></section>
<section><h2>{t("step_photos")}</h2>
  <label class="button" id="photo-label">{icon("camera")} {t("add_photo")}
    <input type="file" id="photos" accept="image/*" multiple hidden></label>
  <div id="thumbs" class="thumbs"></div></section>
<section><h2>{t("step_contact")}</h2><p class="hint">{t("anonymous_hint")}</p>
  <label class="check"><input type="checkbox" id="leave-contact"> {t("leave_contact")}</label>
  <div id="contact" hidden>
    <input id="reporter-name" autocomplete="name" maxlength="100" placeholder="{t("name")}">
    <input id="reporter-phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="20"
      placeholder="{t("phone")}"></div></section>
<button type="button" id="btn-send" class="primary">{t("send")}</button>
<section id="mine" hidden><h2>{t("my_reports")}</h2><ul id="mine-list" class="mine"></ul>
</section>
<template id="icon-hand">{icon("hand")}</template>
<div id="status" role="status" aria-live="polite"></div>"""
    return _page("report", lang, "report_title", body, config, map_=True)


def build_receipt_page(*, lang: str = "zh") -> str:
    """The status page; the receipt is read from the address by report.js, never put here."""
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    body = f"""
<section id="summary"><p class="hint">{t("loading")}</p></section>
<section><h2>{t("timeline")}</h2><ol id="timeline" class="timeline"></ol></section>
<section id="rate" hidden><h2>{t("rate_title")}</h2>
  <div id="star-buttons" class="stars" role="radiogroup"></div>
  <textarea id="rate-comment" rows="2" maxlength="2000"
    placeholder="{t("comment_placeholder")}"></textarea>
  <button type="button" id="btn-rate" class="primary">{t("rate")}</button></section>
<section id="reopen" hidden><h2>{t("reopen_title")}</h2><p id="reopen-until" class="hint"></p>
  <textarea id="reopen-note" rows="2" maxlength="2000"
    placeholder="{t("reopen_placeholder")}"></textarea>
  <button type="button" id="btn-reopen">{t("reopen")}</button></section>
<section><p class="hint">{t("keep_link")}</p>
  <button type="button" id="btn-copy">{t("copy_link")}</button>
  <p><a href="/map/report">{t("new_report")}</a> · <a href="/map/public">{t("public_map")}</a>
  </p></section>
<div id="status" role="status" aria-live="polite"></div>"""
    return _page("receipt", lang, "receipt_title", body, {}, map_=False)
