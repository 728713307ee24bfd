"""The style CSP in chromium (issue 18): `style-src 'self' 'nonce-…'`. Every page draws with no
refusal (the fixtures fail on any console error) and its own styles apply: the head's nonced
<style> blocks, the legend swatches and the station icons' colours (classes, not style="…"
attributes, which Leaflet would put in with innerHTML). A style attribute injected into a served
page does not apply; without the header the same one does, so the test can fail."""

from __future__ import annotations

from tests.browser.conftest import wait_drawn
from tests.browser.test_csp import serve_injected

REFUSED = "violates the following Content Security Policy directive"
INJECTED = '<p id="evil" style="color: rgb(255, 0, 0)">x</p>'


def _colour(p, selector: str, prop: str = "background-color") -> str:
    return p.eval_on_selector(selector, f"e => getComputedStyle(e)[{prop!r}]")


def test_public_page_styles_apply_under_the_policy(live_server, page):
    p = page.page
    answer = p.goto(f"{live_server.url}/map/public")
    policy = answer.headers["content-security-policy"]
    assert "style-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    wait_drawn(p)
    # folium's head block (#map fills the window) and the nonced rules of the page
    assert p.eval_on_selector(".folium-map", "e => e.getBoundingClientRect().height") > 300
    assert _colour(p, ".station-icon") not in ("", "rgba(0, 0, 0, 0)")
    swatches = p.eval_on_selector_all(
        ".wangge-legend i", "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert len(swatches) >= 3 and all(c != "rgba(0, 0, 0, 0)" for c in swatches), swatches
    assert p.eval_on_selector("#search-input", "e => getComputedStyle(e).width") == "224px"


VIOLATIONS = (
    "window.__refused = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__refused.push("
    "e.violatedDirective + ' ' + e.sourceFile + ':' + e.lineNumber))"
)


def test_the_landing_page_styles_apply(live_server, browser):
    """(its own context: chromium asks for /favicon.ico, a 404 the page fixture would count)"""
    context = browser.new_context()
    try:
        p = context.new_page()
        p.add_init_script(VIOLATIONS)
        p.goto(f"{live_server.url}/")
        assert p.eval_on_selector("p.lang", "e => getComputedStyle(e).textAlign") == "right"
        assert p.eval_on_selector("body", "e => getComputedStyle(e).maxWidth") != "none"
        assert p.evaluate("window.__refused") == []
    finally:
        context.close()


def test_planner_worker_report_and_docs_draw_without_a_refusal(live_server, page, phone):
    p = page.page
    for path in ("/map/planner", "/map/public?lang=en"):
        p.goto(f"{live_server.url}{path}")
        wait_drawn(p)
        swatches = p.eval_on_selector_all(
            ".wangge-legend i", "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
        assert any(c != "rgba(0, 0, 0, 0)" for c in swatches), (path, swatches)
    p.goto(f"{live_server.url}/docs")
    p.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI drew the operations
    phone.page.goto(f"{live_server.url}/map/worker")
    phone.page.wait_for_selector(".leaflet-container")
    phone.page.goto(f"{live_server.url}/map/report")
    phone.page.wait_for_function("document.body.dataset.ready === '1'")
    assert not [e for e in page.errors + phone.errors if REFUSED in e]


def test_an_injected_style_attribute_does_not_apply(live_server, page):
    page.expected_errors.append(REFUSED)
    p = page.page
    serve_injected(p, "/map/public", keep_csp=True, markup=INJECTED)
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    assert _colour(p, "#evil", "color") != "rgb(255, 0, 0)"
    assert any(REFUSED in e for e in page.errors), page.errors


def test_the_same_style_applies_without_the_policy(live_server, page):
    p = page.page
    serve_injected(p, "/map/public", keep_csp=False, markup=INJECTED)
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    assert _colour(p, "#evil", "color") == "rgb(255, 0, 0)"
