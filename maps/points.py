"""The red-points pages: 我的积分 on the phone (balance, history, rewards, exchange) and the
community's desktop page (record an activity, confirm exchanges, rewards, ranking per grid).
Both are shells of our own text; maps/static/points.js fetches the data as JSON and
shows every value from it as text."""

from __future__ import annotations

from html import escape

from maps.assets import STATIC_URL
from maps.points_text import table
from maps.report import _json

SIGN_IN = """<section id="account">
  <form id="signin" class="signin" autocomplete="on">
    <input name="username" placeholder="{username}" autocomplete="username">
    <input name="password" type="password" placeholder="{password}"
      autocomplete="current-password">
    <button type="submit" class="primary">{sign_in}</button>
  </form>
  <div id="whoami" class="whoami" hidden><span></span>
    <button type="button" id="btn-sign-out">{sign_out}</button></div></section>
<div id="status" role="status" aria-live="polite"></div>"""

MINE = """<section id="balance-box" hidden><h2>{balance}</h2>
  <p class="balance"><b id="balance">0</b></p><p id="available" class="hint"></p></section>
<section id="rewards-box" hidden><h2>{rewards}</h2><p class="hint">{rewards_hint}</p>
  <ul id="rewards" class="plain"></ul></section>
<section id="exchanges-box" hidden><h2>{my_exchanges}</h2><ul id="exchanges" class="plain"></ul>
</section>
<section id="history-box" hidden><h2>{history}</h2><ul id="history" class="plain"></ul></section>"""

DESK = """<div id="desk" class="desk" hidden>
<section class="wide"><label>{community} <select id="community"></select></label></section>
<section id="activity-box"><h2>{record_activity}</h2>
  <form id="activity-form">
    <input name="name" id="activity-name" placeholder="{activity_name}" maxlength="100">
    <label>{held_on} <input name="held_on" id="activity-date" type="date"></label>
    <p class="hint" id="participants-hint"></p>
    <ul id="people" class="plain people"></ul>
    <input name="others" id="activity-others" placeholder="{other_accounts}">
    <button type="submit" class="primary">{save_activity}</button>
  </form></section>
<section id="exchanges-box"><h2>{exchanges}</h2><ul id="exchanges" class="plain"></ul></section>
<section id="rewards-box"><h2>{manage_rewards}</h2><ul id="rewards" class="plain"></ul>
  <form id="reward-form" class="reward-form">
    <input name="name" placeholder="{reward_name}" maxlength="100">
    <input name="cost" type="number" min="1" placeholder="{reward_cost}">
    <input name="stock" type="number" min="0" placeholder="{reward_stock}">
    <button type="submit">{add_reward}</button></form></section>
<section id="ranking-box"><h2>{ranking}</h2><div id="ranking"></div></section>
<section id="activities-box"><h2>{activities}</h2><ul id="activities" class="plain"></ul>
</section></div>"""


def _page(page: str, *, lang: str, title_key: str, body: str, config: dict) -> str:
    text = table(lang)
    esc = {k: escape(v) for k, v in text.items()}
    other = "zh" if lang == "en" else "en"
    full = {"page": page, "lang": lang, "text": text, **config}
    return f"""<!doctype html>
<html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{esc[title_key]}</title>
<link rel="stylesheet" href="{STATIC_URL}/report.css">
<link rel="stylesheet" href="{STATIC_URL}/points.css">
</head>
<body class="report points {page}">
<header class="bar"><h1>{esc[title_key]}</h1>
<a id="lang-switch" href="?lang={other}">{esc["other_lang"]}</a></header>
<main>{SIGN_IN.format(**esc)}{body.format(**esc)}</main>
<script type="application/json" id="points-config">{_json(full)}</script>
<script src="{STATIC_URL}/wangge.js"></script><script src="{STATIC_URL}/points.js"></script>
</body></html>"""


def build_points_page(*, lang: str = "zh") -> str:
    """我的积分: the resident's or volunteer's phone page."""
    return _page("points", lang=lang, title_key="mine_title", body=MINE, config={})


def build_community_points_page(*, lang: str = "zh", default_points: int = 5) -> str:
    """The community's desktop page for red points."""
    config = {"default_points": default_points}
    return _page("points_community", lang=lang, title_key="desk_title", body=DESK, config=config)
