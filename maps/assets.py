"""Where the map pages' JavaScript and CSS come from: the app's own /static/maps, never a CDN.

Folium elements name their assets (``default_js`` / ``default_css``) with CDN addresses.
``localize`` rewrites them, element by element, to the copies that set-up installs from npm into
maps/static/vendor/node_modules, and drops the ones the pages do not use (jQuery, Bootstrap,
awesome-markers). An asset it does not know is an error, so a new plugin cannot quietly reach
out to a CDN.
"""

from __future__ import annotations

from pathlib import Path

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/static/maps"
VENDOR_URL = f"{STATIC_URL}/vendor/node_modules"

LOCAL_JS = {
    "leaflet": f"{VENDOR_URL}/leaflet/dist/leaflet.js",
    "leaflet_draw_js": f"{VENDOR_URL}/leaflet-draw/dist/leaflet.draw.js",
    "vectorGrid": f"{VENDOR_URL}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
}
LOCAL_CSS = {
    "leaflet_css": f"{VENDOR_URL}/leaflet/dist/leaflet.css",
    "leaflet_draw_css": f"{VENDOR_URL}/leaflet-draw/dist/leaflet.draw.css",
}
UNUSED = {
    "jquery",
    "bootstrap",
    "awesome_markers",
    "bootstrap_css",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}
PAGE_CSS = (
    f"{VENDOR_URL}/@fortawesome/fontawesome-free/css/fontawesome.min.css",
    f"{VENDOR_URL}/@fortawesome/fontawesome-free/css/solid.min.css",
    f"{STATIC_URL}/wangge.css",
)


def _local(assets: list[tuple[str, str]], table: dict[str, str]) -> list[tuple[str, str]]:
    kept = []
    for name, url in assets:
        if url.startswith(STATIC_URL):
            kept.append((name, url))
        elif name in table:
            kept.append((name, table[name]))
        elif name not in UNUSED:
            msg = f"no local copy of the map asset {name!r} ({url}); add it to maps/assets.py"
            raise ValueError(msg)
    return kept


def _elements(root: Element):
    yield root
    for child in root._children.values():
        yield from _elements(child)


def localize(m: folium.Map) -> folium.Map:
    """Point every element's JS and CSS at the local copies (in place); returns `m`."""
    for element in _elements(m):
        if hasattr(element, "default_js"):
            element.default_js = _local(list(element.default_js), LOCAL_JS)
        if hasattr(element, "default_css"):
            element.default_css = _local(list(element.default_css), LOCAL_CSS)
    return m


class PageAssets(JSCSSMixin, MacroElement):
    """The pages' own CSS and scripts (file names under maps/static). Added as the map's last
    child, they load after Leaflet and its plugins (an element's assets go into the header
    before its children's)."""

    _template = Template("")

    def __init__(self, *scripts: str) -> None:
        super().__init__()
        self._name = "PageAssets"
        self.default_css = [(url.rsplit("/", 1)[-1], url) for url in PAGE_CSS]
        self.default_js = [(name, f"{STATIC_URL}/{name}") for name in ("wangge.js", *scripts)]
