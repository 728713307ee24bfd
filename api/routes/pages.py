"""The landing page: what is loaded, and links to the map pages and the API."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import accounts
from api.deps import SessionDep
from api.messages import t
from api.storage.queries import layer_counts
from maps.nonce import nonce_attr

router = APIRouter(tags=["pages"])

MAP_PAGES = (
    "planner",
    "worker",
    "public",
    "report",
    "order",
    "volunteer",
    "notices",
    "points",
    "points/community",
    "assessment",
)

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style{nonce}>
body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
th{{text-align:left;padding-right:2rem;font-weight:normal}}td{{text-align:right}}
.lang{{text-align:right}}</style>
</head><body>
<p class="lang"><a href="/?lang={other}">{other_name}</a></p>
<h1>{title}</h1>
<h2>{loaded}</h2>
<table id="counts">{rows}</table>
<h2>{maps}</h2>
<ul>{links}</ul>
{demo}
<p><a href="/docs">{docs}</a> · <a href="/api/health">{health}</a></p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, lang: str = Query("zh")) -> str:
    lang = lang if lang in ("zh", "en") else "zh"
    counts = layer_counts(session)
    rows = "".join(
        f"<tr><th>{escape(t(name, lang))}</th><td>{value:,}</td></tr>"
        for name, value in counts.items()
    )
    query = "?lang=en" if lang == "en" else ""
    links = "".join(
        f'<li><a href="/map/{page}{query}">{escape(t(page, lang))}</a></li>' for page in MAP_PAGES
    )
    other = "en" if lang == "zh" else "zh"
    return PAGE.format(
        nonce=nonce_attr(),
        lang=lang,
        title=escape(t("title", lang)),
        other=other,
        other_name="English" if other == "en" else "中文",
        loaded=escape(t("loaded", lang)),
        rows=rows,
        maps=escape(t("maps", lang)),
        links=links,
        docs=escape(t("api_docs", lang)),
        health=escape(t("health", lang)),
        demo=_demo(accounts.demo_accounts(session), lang),
    )


def _demo(names: list[str], lang: str) -> str:
    """The demo's accounts, when the demo made them (none on a real deployment)."""
    if not names:
        return ""
    listed = ", ".join(f"<code>{escape(n)}</code>" for n in names)
    return f'<p id="demo-accounts">{escape(t("demo_accounts", lang))}: {listed}</p>'
