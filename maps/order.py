"""The resident's service pages (phone first): /map/order (sign in or leave a phone; place,
service of the nearest stations, note; a signed-in resident's 我的服务单 with confirm, rate and
cancel) and /map/order/status#<receipt> (follow, confirm and rate; the receipt
stays in the fragment, so it is never sent to the server in a URL nor logged)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from maps.report import icon
from maps.service_page import phone_page, signin_section
from maps.service_text import table


def build_order_page(map_view: Mapping, *, lang: str = "zh") -> str:
    """The ordering form over `map_view` (tiles, attribution, bounds: the report page's map);
    stations and their services are fetched for the placed pin."""
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    tiles = map_view.get("tiles")
    config = {**map_view, "tiles": tiles if tiles and tiles.strip().lower() != "none" else None}
    body = f"""{signin_section(lang, hint_key="resident_sign_in_hint")}</section>
<section id="place"><h2>{t("step_place")}</h2>
  <div id="map" class="report-map"></div>
  <div class="row"><button type="button" id="btn-locate">{icon("location-crosshairs")}
    {t("my_location")}</button></div>
  <input id="address" maxlength="200" autocomplete="street-address" placeholder="{t("address")}">
  <p id="place-note" class="hint">{t("place_hint")}</p></section>
<section id="service"><h2>{t("step_service")}</h2>
  <p id="service-hint" class="hint">{t("service_hint")}</p>
  <div id="stations" role="radiogroup"></div></section>
<section><h2>{t("step_note")}</h2>
  <textarea id="note" rows="3" maxlength="500" placeholder="{t("note_placeholder")}"></textarea>
</section>
<section id="phone-step"><h2>{t("step_phone")}</h2>
  <input id="phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="20"
    placeholder="{t("phone")}"><p class="hint">{t("phone_hint")}</p>
  <p id="signed-in-note" class="hint" hidden>{t("signed_in_no_phone")}</p></section>
<button type="button" id="btn-send" class="primary">{t("send")}</button>
<div id="status" role="status" aria-live="polite"></div>
<section id="mine" hidden><h2>{t("my_service_orders")}</h2>
  <p class="hint">{t("my_service_orders_hint")}</p>
  <div class="row"><button type="button" id="btn-mine-refresh">{t("refresh")}</button></div>
  <ul id="mine-list" class="orders"></ul>
</section>"""
    return phone_page("order", lang=lang, title_key="order_title", body=body, config=config,
                      map_=True)  # fmt: skip


def build_follow_page(*, lang: str = "zh") -> str:
    """The order's status page; order.js reads the receipt from the fragment."""
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    body = f"""
<section id="order"><div id="summary"><p class="hint">{t("loading")}</p></div>
  <h2>{t("timeline")}</h2><ol id="timeline" class="timeline"></ol></section>
<section id="rate" hidden><h2>{t("confirm_title")}</h2>
  <div id="star-buttons" class="stars" role="radiogroup"></div>
  <textarea id="rate-comment" rows="2" maxlength="500"
    placeholder="{t("comment_placeholder")}"></textarea>
  <button type="button" id="btn-confirm" class="primary">{t("confirm")}</button></section>
<p id="cancel" hidden><button type="button" id="btn-cancel">{t("cancel")}</button></p>
<p class="hint">{t("keep_link")}</p>
<p><a href="/map/order">{t("new_order")}</a> · <a href="/map/public">{t("public_map")}</a></p>
<div id="status" role="status" aria-live="polite"></div>"""
    return phone_page("order", lang=lang, title_key="follow_title", body=body,
                      config={"follow": True})  # fmt: skip
