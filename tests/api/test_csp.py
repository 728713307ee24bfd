"""The Content-Security-Policy (issue 18, item 12): every HTML page names a fresh nonce, every
inline script and style block the app wrote carries it, nothing from data gets it, no inline
handlers and no style attributes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import text

from tests.conftest import gridded_city_database

PAGES = (
    "/",
    "/?lang=en",
    "/docs",
    "/map/planner",
    "/map/public",
    "/map/worker",
    "/map/report",
    "/map/report/AbCdEfGh12345678",
)
EVIL = '</script><script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


class Tags(HTMLParser):
    """Every start tag of a page as (name, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def _script_policy(answer) -> tuple[str, dict[str, str]]:
    """(nonce, directive → value) of the answer's CSP."""
    policy = answer.headers["content-security-policy"]
    directives = dict(d.strip().partition(" ")[::2] for d in policy.split(";"))
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{16,})'", directives["script-src"])
    assert nonce, policy
    return nonce.group(1), directives


@pytest.fixture(scope="module")
def city(pg_cluster):
    with gridded_city_database(pg_cluster, "csp") as url:
        yield url


@pytest.fixture
def client(city):
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(city)) as c:
        yield c


@pytest.mark.parametrize("path", PAGES)
def test_every_page_names_a_nonce_its_inline_scripts_carry(client, path):
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    nonce, directives = _script_policy(answer)
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in directives["script-src"]
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    tags = _tags(answer.text)
    scripts = [a for t, a in tags if t == "script"]
    inline = [a for a in scripts if "src" not in a and a.get("type") != "application/json"]
    assert all(a.get("nonce") == nonce for a in inline), inline
    sources = [a["src"] for a in scripts if "src" in a]
    assert all(src.startswith("/") and not src.startswith("//") for src in sources), sources
    handlers = [(t, k) for t, a in tags for k in a if k.startswith("on")]
    assert handlers == []


def test_the_folium_pages_run_their_start_script_under_the_nonce(client):
    """The map pages do run inline code (folium's map set-up): it must be the nonced kind."""
    for path in ("/map/planner", "/map/public", "/map/worker"):
        answer = client.get(path)
        nonce, _ = _script_policy(answer)
        assert answer.text.count(f'<script nonce="{nonce}">') == 2, path


def test_each_response_gets_a_fresh_nonce(client):
    nonces = {_script_policy(client.get("/map/public"))[0] for _ in range(3)}
    nonces |= {_script_policy(client.get("/api/health"))[0]}
    assert len(nonces) == 4


def test_a_hostile_station_name_gets_no_nonce(client, city):
    """Data is escaped; were it not, the CSP is the second line: no tag from data is nonced."""
    from api.db import transaction

    with transaction(city) as s:
        s.execute(text("UPDATE stations SET name = :e || name, address = :e"), {"e": EVIL})
    answer = client.get("/map/public")
    assert answer.status_code == 200
    assert "window.__xss=1" in answer.text  # the names are in the page (as escaped JSON)
    nonce, _ = _script_policy(answer)
    tags = _tags(answer.text)
    assert [a for t, a in tags if t == "img"] == []
    inline = [a for t, a in tags if t == "script" and "src" not in a]
    assert len(inline) == 2
    assert all(a.get("nonce") == nonce for a in inline)
    styles = [a for t, a in tags if t == "style"]
    assert all(a.get("nonce") == nonce for a in styles)
    assert answer.text.count(nonce) == len(inline) + len(styles)  # on the app's own tags only


@pytest.mark.parametrize("path", PAGES)
def test_every_style_block_carries_the_nonce_and_no_tag_has_a_style_attribute(client, path):
    """style-src 'self' 'nonce-…' (no 'unsafe-inline'): a style attribute would be refused."""
    answer = client.get(path)
    nonce, directives = _script_policy(answer)
    assert directives["style-src"] == f"'self' 'nonce-{nonce}'"
    tags = _tags(answer.text)
    assert all(a.get("nonce") == nonce for t, a in tags if t == "style")
    assert [(t, a) for t, a in tags if "style" in a] == []
    assert "style=" not in answer.text  # nor in HTML handed to Leaflet (innerHTML)


@pytest.mark.parametrize(
    "selector, declarations",
    [(".a", "color:red}body{display:none"), (".a", "color:red</style><script>"), ("a{", "x:y")],
)
def test_css_rules_refuse_what_could_leave_the_rule(selector, declarations):
    from maps.base import css_rules

    with pytest.raises(ValueError, match="not a plain CSS rule"):
        css_rules({selector: declarations})
    assert css_rules({".swatch-0": "background:#e41a1c;opacity:.7"}) == (
        ".swatch-0 {background:#e41a1c;opacity:.7}"
    )
