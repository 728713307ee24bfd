"""The light phone page both service-order pages share (no folium): the report page's CSS and
Leaflet when a map is wanted, the page's own script, and its data as JSON in a script element
(never as HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from maps.assets import STATIC_URL, VENDOR_URL
from maps.report import _json
from maps.service_text import table


def signin_section(lang: str, *, hint_key: str | None = None) -> str:
    """The sign-in form and the signed-in line both pages share (driven by wangge.js's
    setupSignIn: #signin, #whoami, #btn-sign-out); `hint_key` a line of text under it."""
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    hint = f'\n  <p id="signin-hint" class="hint">{t(hint_key)}</p>' if hint_key else ""
    return f"""
<section id="account">
  <form id="signin" class="signin" autocomplete="on">
    <input name="username" placeholder="{t("username")}" autocomplete="username">
    <input name="password" type="password" placeholder="{t("password")}"
      autocomplete="current-password">
    <button type="submit" class="primary">{t("sign_in")}</button>
  </form>
  <div id="whoami" class="whoami" hidden><span></span>
    <button type="button" id="btn-sign-out">{t("sign_out")}</button></div>{hint}"""


def phone_page(
    page: str, *, lang: str, title_key: str, body: str, config: Mapping, map_: bool = False
) -> str:
    """A whole page: `page` names its script (maps/static/<page>.js) and body class; `body`
    is markup built from our own text only."""
    text = table(lang)
    title = escape(text[title_key])
    css = f'<link rel="stylesheet" href="{VENDOR_URL}/leaflet/dist/leaflet.css">\n' if map_ else ""
    js = f'<script src="{VENDOR_URL}/leaflet/dist/leaflet.js"></script>' if map_ else ""
    full = {"page": page, "lang": lang, "text": text, **config}
    other = "zh" if lang == "en" else "en"
    return f"""<!doctype html>
<html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{title}</title>
{css}<link rel="stylesheet" href="{STATIC_URL}/report.css">
<link rel="stylesheet" href="{STATIC_URL}/volunteer.css">
</head>
<body class="report service {page}">
<header class="bar"><h1>{title}</h1>
<a id="lang-switch" href="?lang={other}">{escape(text["other_lang"])}</a></header>
<main>{body}</main>
<script type="application/json" id="service-config">{_json(full)}</script>
{js}<script src="{STATIC_URL}/wangge.js"></script>
<script src="{STATIC_URL}/service.js"></script><script src="{STATIC_URL}/{page}.js"></script>
</body></html>"""
