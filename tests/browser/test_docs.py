"""/docs works offline: Swagger UI from the app's own copy lists the API and can try a call,
and the page asks nothing of any other host (issue 18, item 12)."""

from __future__ import annotations

from urllib.parse import urlsplit


def test_api_docs_are_served_by_the_app_and_work_without_a_cdn(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/docs")
    p.wait_for_selector("#swagger-ui .info .title", timeout=20_000)
    assert "Wangge" in p.locator("#swagger-ui .info .title").inner_text()
    operation = p.locator("#operations-health-health_api_health_get, [id^='operations-health']")
    operation.first.click()
    p.click("#swagger-ui .try-out__btn")
    p.click("#swagger-ui .execute")
    p.wait_for_selector("#swagger-ui .responses-table .response-col_status", timeout=20_000)
    assert "200" in p.locator("#swagger-ui .live-responses-table").inner_text()
    own = urlsplit(live_server.url).netloc
    elsewhere = [u for u in page.requests if urlsplit(u).netloc not in (own, "")]
    assert elsewhere == []
    assert any("/static/maps/vendor/node_modules/swagger-ui-dist/" in u for u in page.requests)
