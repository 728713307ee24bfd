"""What the three map pages share: the map with its base tiles, scale bar, side panel, legend,
and the hand-over of the map and its layers to the page's script (maps/static/<page>.js)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from html import escape

import folium
import geopandas as gpd
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from maps.assets import PageAssets, localize
from maps.messages import text
from maps.nonce import nonce_attr

NO_TILES = ("", "none")
DEFAULT_BOUNDS = ((32.0, 118.7), (32.1, 118.9))  # [[south, west], [north, east]]


def bounds_of(*frames: gpd.GeoDataFrame | None) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the non-empty frames (EPSG:4326), or None."""
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return None
    minx = min(b[0] for b in boxes)
    miny = min(b[1] for b in boxes)
    maxx = max(b[2] for b in boxes)
    maxy = max(b[3] for b in boxes)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def base_map(
    *,
    bounds: Sequence[Sequence[float]] | None,
    tiles: str | None,
    attribution: str,
    lang: str,
) -> folium.Map:
    """A map fitted to `bounds`, with the base tiles (none: a plain background) and a scale bar."""
    box = bounds or DEFAULT_BOUNDS
    center = [(box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2]
    m = folium.Map(location=center, zoom_start=15, tiles=None, control_scale=True, max_zoom=20)
    if tiles and tiles.strip().lower() not in NO_TILES:
        folium.TileLayer(
            tiles=tiles,
            attr=attribution,
            name=text("basemap", lang),
            max_zoom=20,
            max_native_zoom=19,
        ).add_to(m)
    fit = folium.FitBounds([list(box[0]), list(box[1])])
    # at once, not animated: a popup opened during the load's zoom was placed for the old view
    fit.options["animate"] = False
    m.add_child(fit)
    return m


def geojson(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> dict:
    """A FeatureCollection of `columns` (JSON-ready values), ids from the first column."""
    keep = [c for c in columns if c in frame.columns]
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        msg = f"map layers are drawn from EPSG:4326 frames, got {frame.crs}"
        raise ValueError(msg)
    data = json.loads(frame[[*keep, "geometry"]].to_json(drop_id=True, to_wgs84=False))
    for feature in data["features"]:
        feature["id"] = feature["properties"].get(keep[0]) if keep else None
    return data


# declarations the pages write into their own <style> blocks: no markup, no nested rules
DECLARATIONS = re.compile(r"^[-a-z]+:[^<>{}\\]+$")


def css_rules(rules: Mapping[str, str]) -> str:
    """`selector {declarations}` lines for a <style> block; ValueError for anything that could
    leave the rule (the values come from code and catalogs, never from data)."""
    lines = []
    for selector, declarations in rules.items():
        if not re.fullmatch(r"[-#.\w ]+", selector) or not all(
            DECLARATIONS.match(d.strip()) for d in declarations.split(";") if d.strip()
        ):
            msg = f"not a plain CSS rule: {selector!r} {{{declarations!r}}}"
            raise ValueError(msg)
        lines.append(f"{selector} {{{declarations}}}")
    return "\n".join(lines)


class Styles(MacroElement):
    """CSS rules in the page head, in a <style> block carrying the response's nonce: the
    style CSP refuses style="…" attributes (also in HTML that Leaflet puts in with innerHTML),
    so the pages give elements classes and write the rules here."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        """
    )

    def __init__(self, rules: Mapping[str, str]) -> None:
        super().__init__()
        self._name = "Styles"
        self.css = css_rules(rules)


class Legend(MacroElement):
    """A legend box (bottom left) with rows of (css swatch style, label)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "wangge-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        from html import escape

        swatch = f"{self.get_name()}-swatch"
        self.css = css_rules({f".{swatch}-{i}": style for i, (style, _) in enumerate(rows)})
        items = "".join(
            f'<div><i class="{swatch}-{i}"></i>{escape(label)}</div>'
            for i, (_, label) in enumerate(rows)
        )
        self.html = f"<b>{escape(title)}</b>{items}"


class Start(MacroElement):
    """Calls ``wangge.start(page, map, layers, config)`` once every layer exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        wangge.start({{ this.page|tojson }}, {{ this._parent.get_name() }}, {
        {%- for role, name in this.layers.items() %}
            {{ role|tojson }}: {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        }, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, page: str, layers: Mapping[str, str], config: Mapping) -> None:
        super().__init__()
        self._name = "Start"
        self.page = page
        self.layers = dict(layers)
        self.config = dict(config)


class Verbatim(Element):
    """HTML put in the page as it is. branca's Element(html) compiles its text as a Jinja
    template, so a place or building name holding ``{{ … }}`` would run as template code on
    the server."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.html = html

    def render(self, **kwargs) -> str:
        return self.html


def _render_macros_verbatim(self: MacroElement, **kwargs) -> None:
    """branca's MacroElement.render, except that what the element's header, html and script
    macros wrote goes into the page as it is (Verbatim) instead of through a second Jinja pass:
    the data the macros wrote (GeoJSON properties, names) is never template source."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        msg = f"{type(self).__name__} can only be rendered inside a Figure"
        raise TypeError(msg)
    macros = self._template.module.__dict__
    for part in ("header", "html", "script"):
        if (macro := macros.get(part)) is not None:
            written = macro(self, kwargs)
            if part == "header" and isinstance(self, folium.Map):  # folium's own settings script
                written = written.replace("<script>", f"<script{nonce_attr()}>")
            target = getattr(figure, part)
            target.add_child(Verbatim(written), name=self.get_name())
    for child in self._children.values():
        child.render(**kwargs)


# every folium element of the three pages renders through this (folium's own render methods end
# in MacroElement.render)
MacroElement.render = _render_macros_verbatim

# branca's page template, its closing script block and the head's style blocks carrying this
# response's nonce
PAGE_TEMPLATE = Template(
    "<!DOCTYPE html>\n<html>\n<head>\n"
    "{% if this.title %}<title>{{this.title}}</title>{% endif %}"
    "    {{ styles_nonced(this.header.render(**kwargs)) }}\n</head>\n<body>\n"
    "    {{this.html.render(**kwargs)}}\n</body>\n"
    "<script{{ nonce_attr() }}>\n    {{this.script.render(**kwargs)}}\n</script>\n</html>\n"
)
PAGE_TEMPLATE.globals["nonce_attr"] = nonce_attr


def _styles_nonced(head: str) -> str:
    """The head's own <style> blocks (folium's, the Styles and Legend rules; no data is written
    into the head) with this response's nonce."""
    return head.replace("<style>", f"<style{nonce_attr()}>")


PAGE_TEMPLATE.globals["styles_nonced"] = _styles_nonced


def finish(
    m: folium.Map,
    *,
    page: str,
    lang: str,
    layers: Mapping[str, MacroElement | None],
    config: Mapping,
    panel_html: str,
) -> folium.Map:
    """Layer control, side panel, the page's assets and start call; every asset made local."""
    folium.LayerControl(collapsed=True).add_to(m)
    root = m.get_root()
    root._template = PAGE_TEMPLATE
    root.html.add_child(Verbatim(panel_html), name="panel")
    root.header.add_child(
        Verbatim('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport",
    )
    root.header.add_child(Verbatim('<link rel="icon" href="data:,">'), name="favicon")
    title = escape(text(f"{page}_title", lang))
    root.header.add_child(Verbatim(f"<title>{title}</title>"), name="title")
    PageAssets(f"{page}.js").add_to(m)
    names = {role: el.get_name() for role, el in layers.items() if el is not None}
    full = {"lang": lang, "text": text_table(lang), **config}
    Start(page, names, full).add_to(m)
    return localize(m)


def signin_form(lang: str) -> str:
    """The sign-in form and the signed-in line of the side panel (driven by wangge.js)."""
    t = lambda key: escape(text(key, lang))  # noqa: E731
    return f"""\
  <form id="signin" class="signin" autocomplete="on">
    <input name="username" placeholder="{t("username")}" autocomplete="username">
    <input name="password" type="password" placeholder="{t("password")}"
      autocomplete="current-password">
    <button type="submit">{t("sign_in")}</button>
  </form>
  <div id="whoami" class="whoami" hidden><span></span>
    <button type="button" id="btn-sign-out">{t("sign_out")}</button></div>"""


def text_table(lang: str) -> dict[str, str]:
    from maps.messages import TEXT

    return dict(TEXT["zh"]) | dict(TEXT.get(lang, {}))
