"""The volunteer's phone page /map/volunteer: sign in, the open orders posted to them (their
grid first, nearest first) with distance and service, take one, their own orders with the
resident's number while taken, mark done. A community admin signed in here sees the
community's orders instead (社区派单), those nobody took flagged. Everything is fetched by
volunteer.js as JSON."""

from __future__ import annotations

from html import escape

from maps.assets import STATIC_URL
from maps.service_page import phone_page, signin_section
from maps.service_text import table


def build_volunteer_page(*, lang: str = "zh") -> str:
    t = lambda key: escape(table(lang)[key])  # noqa: E731
    body = f"""{signin_section(lang)}
  <p id="my-grid" class="hint" hidden></p></section>
<div id="status" role="status" aria-live="polite"></div>
<section id="open" hidden><h2>{t("open_orders")}</h2><p class="hint">{t("open_hint")}</p>
  <div class="row"><button type="button" id="btn-near">{t("by_location")}</button>
    <button type="button" id="btn-refresh">{t("refresh")}</button></div>
  <ul id="open-list" class="orders"></ul></section>
<section id="mine" hidden><h2>{t("my_orders")}</h2><ul id="mine-list" class="orders"></ul>
</section>
<section id="community" hidden><h2>{t("community_orders")}</h2>
  <p class="hint">{t("community_hint")}</p><ul id="community-list" class="orders"></ul></section>
<link rel="stylesheet" href="{STATIC_URL}/notices.css">
<script src="{STATIC_URL}/worker_notices.js"></script>"""  # district notices, at the top
    return phone_page("volunteer", lang=lang, title_key="volunteer_title", body=body, config={})
