"""The script CSP in chromium (issue 18, item 12): on a page the app served, with its real
headers, markup injected into the HTML or added at run time does not run, while the page's own
scripts (nonced or same-site) still draw the map. The same injection without the header runs:
the test can fail."""

from __future__ import annotations

from tests.browser.conftest import wait_drawn

INJECTED = (
    "<script>window.__xss = 1</script>"
    '<img id="evil" src="data:," onerror="window.__xss = 2">'
    '<a id="evil-link" href="javascript:window.__xss = 3">x</a>'
)
REFUSED = "violates the following Content Security Policy directive"  # chromium, on a refusal


def serve_injected(p, path: str, *, keep_csp: bool, markup: str = INJECTED) -> None:
    """Put `markup` into the body of the page the live server answers for `path`."""

    def handle(route) -> None:
        answer = route.fetch()
        headers = dict(answer.headers)
        if not keep_csp:
            headers.pop("content-security-policy")
        body = answer.text().replace("<body>", "<body>" + markup, 1)
        route.fulfill(status=answer.status, headers=headers, body=body)

    p.route(f"**{path}", handle)


def test_markup_injected_into_a_served_page_does_not_run(live_server, page):
    page.expected_errors.append(REFUSED)
    p = page.page
    serve_injected(p, "/map/public", keep_csp=True)
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)  # folium's nonced script and public.js ran
    assert p.evaluate("Object.values(wangge.config.stations).length") >= 1
    p.evaluate("document.getElementById('evil-link').click()")  # under the map: no mouse
    assert p.evaluate("window.__xss") is None
    refusals = [e for e in page.errors if REFUSED in e]
    assert len(refusals) >= 2, page.errors  # the inline script and the onerror handler


def test_the_same_injection_runs_without_the_policy(live_server, page):
    p = page.page
    serve_injected(p, "/map/public", keep_csp=False)
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    assert p.evaluate("window.__xss") in (1, 2)


def test_scripts_added_at_run_time_without_the_nonce_do_not_run(live_server, phone):
    """As if a page's script had put data into the document as HTML (worker page, on a phone)."""
    phone.expected_errors.append(REFUSED)
    p = phone.page
    p.goto(f"{live_server.url}/map/worker")
    p.wait_for_function("window.wangge !== undefined")
    p.evaluate(
        """() => {
        const s = document.createElement("script");
        s.textContent = "window.__xss = 4";
        document.body.append(s);
        const html = '<img src="data:," onerror="window.__xss=5">';
        document.body.insertAdjacentHTML("beforeend", html);
    }"""
    )
    p.wait_for_timeout(300)  # let the image's error event fire (it is refused)
    assert p.evaluate("window.__xss") is None
    assert any(REFUSED in e for e in phone.errors), phone.errors
