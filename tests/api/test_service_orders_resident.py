"""Service orders, the signed-in resident and the timeouts' messages, on a real PostGIS: an
order linked to the account on the server (never to a client-sent id), 我的服务单 showing only
one's own orders with the volunteer by display name, confirm, rate and cancel by the account
(403 for someone else's); a re-posted order queued once to each community admin of its
community, an expired one once to the resident (SMS to the phone, else the account's page), and
the sender job sends each once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from api import accounts as auth
from api.db import session_factory, transaction
from api.notifications import job
from api.service_orders import timeouts
from tests.api.cases_world import C1, C2, PASSWORD
from tests.api.test_service_orders import CHINESE, IN_A, IN_B, PHONE, count, place, world

__all__ = ["world"]  # the module's world fixture (its own database)


def add_user(client, name: str, role: str, **kwargs) -> dict:
    with transaction(client.url) as s:
        principal = auth.create_user(s, name, role, PASSWORD, **kwargs)
    client.headers_by[name] = {"Authorization": f"Bearer {auth.issue_token(principal)}"}
    return client.headers_by[name]


def mine(client, name: str) -> dict[int, dict]:
    r = client.get("/api/service-orders/mine", headers=client.headers_by[name])
    assert r.status_code == 200, r.text
    return {o["id"]: o for o in r.json()}


def outbox(url: str, order_id: int) -> list[tuple]:
    with transaction(url) as s:
        found = s.execute(
            text(
                "SELECT status, channel, address, username, body FROM notifications "
                "WHERE service_order_id = :o ORDER BY status, username"
            ),
            {"o": order_id},
        )
        return [tuple(r) for r in found]


def sweep_at(url: str, order_id: int, minutes: int) -> dict:
    created = count(url, "SELECT created_at FROM service_orders WHERE id = :i", i=order_id)
    with transaction(url) as s:
        return timeouts.sweep(s, now=created + timedelta(minutes=minutes))


def test_signed_in_resident_orders_by_account_and_sees_only_their_own(world):
    me, other = world.headers_by["resident1"], add_user(world, "resident2", "resident")
    forged = place(world, headers=me, phone=None, resident="resident2")
    assert forged.status_code == 422  # who ordered is the account, never a field of the body
    mine_id = place(world, headers=me, phone=None).json()["id"]
    theirs_id = place(world, service="elderly_company", headers=other, phone=None).json()["id"]
    sql = "SELECT resident FROM service_orders WHERE id = :i"
    assert count(world.url, sql, i=mine_id) == "resident1"
    assert mine_id in mine(world, "resident1") and theirs_id not in mine(world, "resident1")
    assert set(mine(world, "resident2")) == {theirs_id}
    assert world.get("/api/service-orders/mine").status_code == 401

    with transaction(world.url) as s:  # the volunteer is shown by name, nothing else
        s.execute(text("UPDATE users SET display_name = '王师傅' WHERE username = 'v_repair'"))
    v = world.headers_by["v_repair"]
    assert world.post(f"/api/service-orders/{mine_id}/take", headers=v).status_code == 200
    assert world.post(f"/api/service-orders/{mine_id}/done", headers=v).status_code == 200
    listed = world.get("/api/service-orders/mine", headers=me)
    order = next(o for o in listed.json() if o["id"] == mine_id)
    assert order["status"] == "done" and order["allowed"] == ["confirm"]
    assert order["volunteer_name"] == "王师傅" and "v_repair" not in listed.text

    rating = {"stars": 5, "comment": "修好了"}
    for headers, status in ((other, 403), (None, 401)):
        r = world.post(f"/api/service-orders/{mine_id}/confirm", json=rating, headers=headers)
        assert r.status_code == status, r.text
    assert CHINESE.search(
        world.post(f"/api/service-orders/{mine_id}/confirm", json=rating, headers=other).text
    )
    r = world.post(f"/api/service-orders/{mine_id}/confirm", json=rating, headers=me)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["stars"], r.json()["comment"]) == ("rated", 5, "修好了")
    again = world.post(f"/api/service-orders/{mine_id}/confirm", json=rating, headers=me)
    assert again.status_code == 409
    sql = "SELECT count(*) FROM points_entries WHERE account = 'v_repair' AND source = :s"
    assert count(world.url, sql, s=f"order:{mine_id}") == 1

    r = world.post(f"/api/service-orders/{theirs_id}/cancel", headers=me)
    assert r.status_code == 403 and CHINESE.search(r.json()["detail"])
    r = world.post(f"/api/service-orders/{theirs_id}/cancel", headers=other)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    missing = world.post("/api/service-orders/999999/cancel", headers=other)
    assert missing.status_code == 404


def test_reposted_order_queued_once_to_each_admin_of_its_community(world):
    add_user(world, "community1b", "community_admin", community_code=C1)
    add_user(world, "community1x", "community_admin", community_code=C1)
    add_user(world, "elsewhere", "community_admin", community_code=C2)
    with transaction(world.url) as s:
        s.execute(text("UPDATE users SET disabled = true WHERE username = 'community1x'"))
    order = place(world, service="errand", at=IN_B).json()  # 代办: nobody in grid B has it
    assert outbox(world.url, order["id"]) == []
    for _ in range(2):  # two rounds (or two processes): the message is queued once
        sweep_at(world.url, order["id"], 61)
    queued = outbox(world.url, order["id"])
    told = [("reposted", "app", None, name) for name in ("community1", "community1b")]
    assert [q[:4] for q in queued] == told
    body = queued[0][4]
    assert f"编号 {order['id']}" in body and "无人接单" in body and "代办" in body
    assert PHONE not in body  # the admin's page has the number; the message does not


def test_expired_order_tells_the_resident_once_by_phone_or_account(world):
    by_phone = place(world, service="errand", at=IN_A).json()["id"]
    signed_in = world.headers_by["resident1"]
    by_account = place(world, service="errand", at=IN_A, headers=signed_in, phone=None).json()["id"]
    first, second = (sweep_at(world.url, by_account, 1441) for _ in range(2))
    assert {by_phone, by_account} <= set(first["expired"])
    assert not {by_phone, by_account} & set(second["expired"])
    phone_msgs = [q for q in outbox(world.url, by_phone) if q[0] == "expired"]
    account_msgs = [q for q in outbox(world.url, by_account) if q[0] == "expired"]
    assert [q[1:4] for q in phone_msgs] == [("sms", PHONE, None)]
    assert [q[1:4] for q in account_msgs] == [("app", None, "resident1")]
    assert "已过期" in account_msgs[0][4] and f"订单编号 {by_account}" in account_msgs[0][4]
    assert mine(world, "resident1")[by_account]["status"] == "expired"

    seen: list = []

    class Recorder:
        name = "recorder"

        def send(self, note):
            seen.append((note.service_order_id, note.channel, note.address, note.body))

    senders = {"sms": Recorder(), "app": Recorder()}
    for _ in range(2):  # the job sends each message once
        job.send_due(session_factory(world.url), senders, batch=1000)
    ours = [s for s in seen if s[0] in (by_phone, by_account) and "已过期" in s[3]]
    assert sorted(s[:3] for s in ours) == sorted(
        [(by_phone, "sms", PHONE), (by_account, "app", None)]
    )


def test_openapi_documents_the_residents_routes_chinese_first(world):
    paths = world.get("/openapi.json").json()["paths"]
    for path, first in (("/api/service-orders/{order_id}/confirm", "确认完成并评价"),
                        ("/api/service-orders/{order_id}/cancel", "取消本人的订单"),
                        ("/api/service-orders/mine", "我的服务单")):  # fmt: skip
        doc = paths[path]["post" if "{" in path else "get"]
        assert doc["summary"].startswith(first) and " / " in doc["summary"], doc
    mine_doc = paths["/api/service-orders/mine"]["get"]["description"]
    assert CHINESE.search(mine_doc) and "never from a client-sent id" in mine_doc
