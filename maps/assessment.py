"""The street office's desktop page /map/assessment: the grid workers' monthly table (per
worker or per grid), sortable, the score formula beside it, CSV and Excel downloads. No map,
no folium: a small HTML shell; the data is fetched by maps/static/assessment.js with the
signed-in token and every value from data is put in as text."""

from __future__ import annotations

import json
from html import escape

from maps.assets import STATIC_URL

TEXT = {
    "zh": {
        "title": "网格员月度考核", "month": "月份", "by_worker": "按网格员", "by_grid": "按网格",
        "area": "区域编码（可选）", "show": "查询", "csv": "导出 CSV", "xlsx": "导出 Excel",
        "formula": "计分公式", "username": "用户名", "password": "密码", "sign_in": "登录",
        "sign_out": "退出", "other_lang": "English", "loading": "正在读取…",
        "empty": "本月没有可显示的行", "failed": "读取失败：", "rows": "共 {n} 行",
        "signed_in": "已登录：{name}（{role}）",
        "sign_in_first": "请先登录（街道、社区管理员，网格长或网格员）",
        "downloaded": "已下载 {name}",
        "col_key_worker": "网格员", "col_key_grid": "网格", "col_community": "社区",
        "col_grid_name": "所在网格",
        "col_visits": "走访", "col_buildings": "楼栋", "col_households_seen": "走访户数",
        "col_reported": "信息报送", "col_handled": "办结",
        "col_median_hours": "办理时长中位数（时）",
        "col_overdue_share": "超期率", "col_rating": "居民评价", "col_attendance": "出勤",
        "col_score": "得分", "days": "{d}/{w} 天", "rated": "{n} 条",
    },
    "en": {
        "title": "Grid workers' monthly assessment", "month": "Month", "by_worker": "Per worker",
        "by_grid": "Per grid", "area": "Area code (optional)", "show": "Show",
        "csv": "Export CSV", "xlsx": "Export Excel", "formula": "Score formula",
        "username": "Username", "password": "Password", "sign_in": "Sign in",
        "sign_out": "Sign out", "other_lang": "中文", "loading": "Loading…",
        "empty": "No rows for this month", "failed": "Failed: ", "rows": "{n} rows",
        "signed_in": "Signed in: {name} ({role})",
        "sign_in_first": "Sign in first (street or community admin, grid leader or worker)",
        "downloaded": "Downloaded {name}",
        "col_key_worker": "Worker", "col_key_grid": "Grid", "col_community": "Community",
        "col_grid_name": "Grids",
        "col_visits": "Visits", "col_buildings": "Buildings", "col_households_seen": "Households",
        "col_reported": "Reported", "col_handled": "Handled",
        "col_median_hours": "Median hours", "col_overdue_share": "Overdue",
        "col_rating": "Rating", "col_attendance": "Attendance", "col_score": "Score",
        "days": "{d}/{w} days", "rated": "{n}",
    },
}  # fmt: skip


def _json(data: dict) -> str:
    """JSON safe inside <script>: no '</' or '<!--' can end or bend the element."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def build_assessment_page(*, month: str, lang: str = "zh") -> str:
    """The page's HTML for `month` (YYYY-MM) in `lang` ('zh' or 'en')."""
    lang = "en" if lang == "en" else "zh"
    t = {k: escape(v) for k, v in TEXT[lang].items()}
    other = "zh" if lang == "en" else "en"
    config = {"lang": lang, "month": month, "text": TEXT[lang]}
    return f"""<!doctype html>
<html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
<title>{t["title"]}</title>
<link rel="stylesheet" href="{STATIC_URL}/wangge.css">
<link rel="stylesheet" href="{STATIC_URL}/assessment.css">
</head>
<body class="assessment">
<header class="bar"><h1>{t["title"]}</h1>
  <form id="signin" class="signin">
    <input name="username" placeholder="{t["username"]}" autocomplete="username">
    <input name="password" type="password" placeholder="{t["password"]}"
      autocomplete="current-password">
    <button type="submit">{t["sign_in"]}</button>
  </form>
  <span id="whoami" hidden></span>
  <button type="button" id="btn-sign-out" hidden>{t["sign_out"]}</button>
  <a id="lang-switch" href="?lang={other}">{t["other_lang"]}</a>
</header>
<form id="controls" class="controls">
  <label>{t["month"]} <input type="month" id="month" name="month" value="{escape(month)}"
    required></label>
  <div class="tabs" role="tablist">
    <button type="button" role="tab" data-level="worker" aria-selected="true">{t["by_worker"]}
    </button><button type="button" role="tab" data-level="grid" aria-selected="false">
    {t["by_grid"]}</button></div>
  <label>{t["area"]} <input id="area" name="area" inputmode="numeric" pattern="[0-9]{{6,15}}"
    size="16"></label>
  <button type="submit">{t["show"]}</button>
  <button type="button" id="btn-csv" data-format="csv">{t["csv"]}</button>
  <button type="button" id="btn-xlsx" data-format="xlsx">{t["xlsx"]}</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<main class="layout">
  <section class="table-wrap"><table id="table"><thead></thead><tbody></tbody></table></section>
  <aside class="formula"><h2>{t["formula"]}</h2><ol id="formula"></ol></aside>
</main>
<script type="application/json" id="assessment-config">{_json(config)}</script>
<script src="{STATIC_URL}/assessment.js"></script>
</body></html>"""
