"""The public page: service stations with icons by type, filters by the six functions,
5/10/15-minute walking circles, address search → nearest center. No personal data, no cases."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

import folium
import geopandas as gpd

from maps.base import Legend, Styles, base_map, bounds_of, finish
from maps.hours import readable_hours
from maps.messages import function_label, text

TYPE_COLOURS = (
    "#c0392b", "#d35400", "#8e44ad", "#2471a3", "#17a589",
    "#b7950b", "#6c3483", "#1e8449", "#5d6d7e",
)  # fmt: skip
# walking circles in calm blues, darkest nearest (red or orange would read as danger)
CIRCLE_COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#6baed6"}
PUBLIC_COLUMNS = (
    "station_id", "name", "type", "functions", "stars", "opening_hours", "services", "phone",
    "address", "location_source", "resident_rating", "ratings",
)  # fmt: skip


def _colours(types: Mapping[str, Mapping]) -> dict[str, str]:
    return {name: TYPE_COLOURS[i % len(TYPE_COLOURS)] for i, name in enumerate(types)}


def _popup(row: Mapping, types: Mapping, functions: Mapping, lang: str) -> list[str]:
    """The popup's lines as plain text (public.js shows them as text nodes, the name bold, and
    adds the phone as a tel: link)."""
    t = lambda key: text(key, lang)  # noqa: E731
    kind = row.get("type") or ""
    label = types.get(kind, {}).get("en") if lang == "en" else kind
    stars = int(row["stars"]) if row.get("stars") else 0
    comma = ", " if lang == "en" else "、"
    offered = comma.join(functions.get(f, f) for f in row.get("functions") or [])
    lines = [
        row["name"],
        label or "",
        f"{t('stars')}: {'★' * stars}" if stars else "",
        resident_rating(row, lang),
        f"{t('opening_hours')}: {row.get('opening_hours') or '–'}",
        f"{t('functions')}: {offered}" if offered else "",
        f"{t('services')}: {row['services']}" if row.get("services") else "",
        f"{t('address')}: {row['address']}" if row.get("address") else "",
        t("approximate_location") if row.get("location_source") == "geocoded" else "",
    ]
    return [line for line in lines if line]


def resident_rating(row: Mapping, lang: str) -> str:
    """居民评分 4.6（12 次评价）from rated service orders; empty when none."""
    count = int(row.get("ratings") or 0)
    if not count or row.get("resident_rating") is None:
        return ""
    return text("resident_rating", lang).format(r=f"{row['resident_rating']:.1f}", n=count)


def build_public_map(
    stations: gpd.GeoDataFrame,
    *,
    types: Mapping[str, Mapping],
    functions: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    lang: str = "zh",
    tiles: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """The neighborhood-center map.

    Parameters
    ----------
    stations : GeoDataFrame
        Points (EPSG:4326) with the public columns station_id, name, type, functions (codes),
        stars, opening_hours, services, phone (the desk's), address, and the residents'
        rating (resident_rating, ratings) where known. Other columns are dropped,
        so no personal data can reach the page.
    types : mapping
        Station type → {"icon": Font Awesome name, "en": English name}.
    functions : mapping
        The six function codes → Chinese names (the filters), in order.
    labels : mapping, optional
        Names of every function code a station may list (the six and the extras).
    """
    functions = {code: function_label(code, name, lang) for code, name in functions.items()}
    labels = {code: function_label(code, name, lang) for code, name in (labels or {}).items()}
    stations = stations[[c for c in PUBLIC_COLUMNS if c in stations.columns] + ["geometry"]]
    m = base_map(bounds=bounds_of(stations), tiles=tiles, attribution=attribution, lang=lang)
    colours = _colours(types)
    kinds = {name: f"station-kind-{i}" for i, name in enumerate(colours)}  # class per type
    rules = {f".{kinds[name]}": f"background:{colour}" for name, colour in colours.items()}
    rules[".station-kind-other"] = "background:#555"
    Styles({**rules, "#search-input": "width:14rem"}).add_to(m)
    group = folium.FeatureGroup(name=text("stations", lang)).add_to(m)
    records = []
    for row in stations.to_dict("records"):
        point = row.pop("geometry")
        row["functions"] = list(row.get("functions") or [])
        row = {k: (None if v != v else v) for k, v in row.items()}  # NaN → None
        row["opening_hours"] = readable_hours(row.get("opening_hours"), lang)
        kind = row.get("type") or ""
        icon = types.get(kind, {}).get("icon") or "location-dot"
        html = (
            f'<div class="station-icon {kinds.get(kind, "station-kind-other")}">'
            f'<i class="fa-solid fa-{escape(icon)}"></i></div>'
        )
        folium.Marker(
            [point.y, point.x],
            icon=folium.DivIcon(html=html, icon_size=(26, 26), icon_anchor=(13, 13)),
            alt=row["station_id"],  # public.js binds the name as a text tooltip
        ).add_to(group)
        # popups are bound by public.js: folium's Popup needs jQuery, which the pages do not load
        popup = _popup(row, types, {**functions, **labels}, lang)
        rating = resident_rating(row, lang)
        records.append(row | {"lon": point.x, "lat": point.y, "popup": popup, "rating": rating})
    circles = folium.FeatureGroup(name=text("circles", lang)).add_to(m)
    Legend(
        text("legend", lang),
        [
            (f"background:{colours[name]};border-radius:50%",
             spec.get("en") if lang == "en" else name)
            for name, spec in types.items()
        ]
        + [
            (f"background:{c};opacity:.5", text(f"minutes_{k}", lang))
            for k, c in CIRCLE_COLOURS.items()
        ],
    ).add_to(m)  # fmt: skip
    config = {
        "stations": {r["station_id"]: r for r in records},
        "functions": dict(functions),
        "types": {k: dict(v) for k, v in types.items()},
        "circleColours": {str(k): v for k, v in CIRCLE_COLOURS.items()},
        "centerTypes": ["邻里中心", "党群服务中心"],
    }
    return finish(
        m,
        page="public",
        lang=lang,
        layers={"stations": group, "circles": circles},
        config=config,
        panel_html=_panel(functions, lang),
    )


def _panel(functions: Mapping[str, str], lang: str) -> str:
    t = lambda key: escape(text(key, lang))  # noqa: E731
    boxes = "".join(
        f'<label><input type="checkbox" name="function" value="{escape(code)}" checked> '
        f"{escape(name)}</label>"
        for code, name in functions.items()
    )
    report = "/map/report" + ("?lang=en" if lang == "en" else "")
    order = "/map/order" + ("?lang=en" if lang == "en" else "")
    return f"""
<aside id="panel" class="wangge-panel">
  <header><h1>{t("public_title")}</h1><a id="lang-switch" href="#">{t("other_lang")}</a></header>
  <form id="search" class="signin">
    <input name="q" id="search-input" placeholder="{t("search_address")}">
    <button type="submit">{t("search")}</button>
    <button type="button" id="btn-my-location">{t("my_location")}</button>
  </form>
  <ul id="candidates" class="candidates" hidden></ul>
  <p><a id="report-link" href="{report}">{t("report_problem")}</a> ·
    <a id="order-link" href="{order}">{t("order_service")}</a></p>
  <section id="functions" class="functions"><h2>{t("functions")}</h2>{boxes}</section>
  <section><h2>{t("nearest")}</h2><ul id="station-list" class="station-list"></ul></section>
  <div id="status" role="status" aria-live="polite"></div>
</aside>"""
