"""The worker app offline: installable (manifest and service worker from the app itself), the
page comes back from the service worker's cache without a network, and notes, photos and steps
taken offline wait in a visible queue and reach the server exactly once on reconnect."""

from __future__ import annotations

import httpx

from tests.browser.worker_world import (
    actions,
    jpeg,
    make_worker,
    report,
    sign_in,
    stored,
    wait_status,
)

OFFLINE = ["ERR_INTERNET_DISCONNECTED", "Failed to fetch"]


def test_the_app_is_installable_and_its_worker_never_keeps_api_answers(live_server, phone):
    manifest = httpx.get(f"{live_server.url}/map/worker.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["name"], body["start_url"], body["scope"]) == (
        "网格员工作台",
        "/map/worker",
        "/map/worker",
    )
    assert all(icon["src"].startswith("/static/maps/") for icon in body["icons"])
    sw = httpx.get(f"{live_server.url}/map/worker-sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    assert "/*SETTINGS*/{}" not in sw.text and "http" not in sw.text.split("var PREFIX")[0]

    make_worker(live_server)
    p = phone.page
    sign_in(p, live_server)
    p.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    cdp = p.context.new_cdp_session(p)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito ones, where nothing installs; nothing else stops it
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    cached = p.evaluate(
        """async () => {
        const out = {};
        for (const name of await caches.keys()) {
          out[name] = (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname);
        }
        return out;
    }"""
    )
    assert len(cached) == 1 and next(iter(cached)).startswith("wangge-worker-")
    paths = next(iter(cached.values()))
    assert "/map/worker" in paths and "/static/maps/worker.js" in paths
    assert not [path for path in paths if path.startswith("/api/")]  # signed in, cases loaded


def test_steps_taken_offline_are_sent_once_on_reconnect(live_server, phone):
    grid, _ = make_worker(live_server)
    case = report(live_server, grid, "小区东门路面塌陷")
    p = phone.page
    phone.expected_errors.extend(OFFLINE)
    sign_in(p, live_server)
    p.locator(f'#case-list [data-case="{case["id"]}"] [data-action=accept]').tap()
    wait_status(p, f"#{case['id']} 已接单")
    p.locator(f'#case-list [data-case="{case["id"]}"] button.open').tap()
    p.wait_for_selector("#timeline li", timeout=20_000)
    p.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    events_before = len(stored(live_server, case["id"])["events"])

    p.context.set_offline(True)
    p.locator("#detail-view textarea.note").fill("已设置围挡，等待施工队")
    p.locator("#detail-view [data-action=note]").tap()
    wait_status(p, "已保存，联网后自动发送")
    assert p.locator("#outbox").inner_text() == "待发送 1 条"
    p.locator("#detail-view input.photo-input").set_input_files(
        files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600)}]
    )
    p.wait_for_function("document.getElementById('outbox').textContent === '待发送 2 条'")
    p.locator("#detail-view [data-action=start]").tap()
    p.wait_for_function("document.getElementById('outbox').textContent === '待发送 3 条'")
    assert p.locator("#pending li").count() == 3
    assert len(stored(live_server, case["id"])["events"]) == events_before  # nothing went out

    # the page itself comes back offline (from the service worker), the queue with it, and
    # the tab's last list: the worker goes on working
    p.reload()
    p.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    assert p.locator("#outbox").inner_text() == "待发送 3 条"
    assert "离线" in p.locator("#whoami").inner_text()
    p.locator(f'#case-list [data-case="{case["id"]}"] button.open').tap()
    # the timeline's fetch fails offline (slowly on a loaded machine): it says so
    p.locator("#detail-view", has_text="离线中").wait_for(timeout=20_000)
    p.locator("#detail-view textarea.note").fill("围挡已加固")
    p.locator("#detail-view [data-action=note]").tap()
    p.wait_for_function("document.getElementById('outbox').textContent === '待发送 4 条'")

    p.context.set_offline(False)
    p.wait_for_function("document.getElementById('outbox').hidden", timeout=30_000)
    record = stored(live_server, case["id"])
    assert record["status"] == "in_progress"
    assert actions(record).count("note") == 2 and actions(record).count("start") == 1
    assert actions(record).count("attach") == 1 and len(record["attachments"]) == 1
    notes = [e["note"] for e in record["events"] if e["action"] == "note"]
    assert notes == ["已设置围挡，等待施工队", "围挡已加固"]
    keys = [e["data"]["idempotency_key"] for e in record["events"][events_before:]]
    assert len(set(keys)) == 4  # each sent under its own key
    p.wait_for_function("!document.getElementById('whoami').textContent.includes('离线')")


def test_a_queued_step_waits_for_the_account_that_took_it(live_server, phone):
    from api.accounts import create_user
    from api.db import transaction
    from tests.browser.worker_world import PASSWORD, WORKER

    grid, _ = make_worker(live_server)
    with transaction(live_server.database_url) as session:
        create_user(session, "zhaoliu", "grid_worker", PASSWORD, grid_codes=[])
    case = report(live_server, grid, "路灯不亮")
    p = phone.page
    phone.expected_errors.extend(OFFLINE)
    sign_in(p, live_server)
    p.locator(f'#case-list [data-case="{case["id"]}"] [data-action=accept]').tap()
    wait_status(p, f"#{case['id']} 已接单")
    p.locator(f'#case-list [data-case="{case["id"]}"] button.open').tap()
    p.wait_for_selector("#timeline li", timeout=20_000)
    p.context.set_offline(True)
    p.locator("#detail-view textarea.note").fill("明早带梯子来")
    p.locator("#detail-view [data-action=note]").tap()
    wait_status(p, "已保存，联网后自动发送")
    p.locator("#btn-sign-out").tap()
    p.context.set_offline(False)
    # another worker signs in on the same phone: the queued note is not sent in their name
    sign_in(p, live_server, "zhaoliu")
    assert p.locator("#outbox").inner_text() == "待发送 1 条"
    assert "note" not in actions(stored(live_server, case["id"]))
    p.locator("#btn-sign-out").tap()
    sign_in(p, live_server, WORKER)
    p.wait_for_function("document.getElementById('outbox').hidden", timeout=30_000)
    notes = [e for e in stored(live_server, case["id"])["events"] if e["action"] == "note"]
    assert [(e["note"], e["actor"]) for e in notes] == [("明早带梯子来", WORKER)]


def test_a_new_deploy_is_never_hidden_behind_the_cached_page(live_server, phone, monkeypatch):
    import maps.worker
    from api.routes import worker_app

    make_worker(live_server)
    p = phone.page
    sign_in(p, live_server)
    p.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    old = p.evaluate("caches.keys()")
    panel = maps.worker._panel
    monkeypatch.setattr(maps.worker, "_panel", lambda lang: panel(lang) + '<p id="deployed">')
    monkeypatch.setattr(worker_app, "shell_version", lambda: "deploy-2")
    p.reload()
    p.wait_for_function("document.body.dataset.ready === '1'", timeout=20_000)
    assert p.locator("#deployed").count() == 1  # the page from the network, not the cache
    p.evaluate("navigator.serviceWorker.getRegistration('/map/worker').then(r => r.update())")
    p.wait_for_function(
        "caches.keys().then(k => { window.names = k; })"
        " && window.names && window.names.join() === 'wangge-worker-deploy-2'",
        timeout=30_000,
    )
    assert old != ["wangge-worker-deploy-2"]
