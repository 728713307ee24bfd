"""Rate limits belong to the principal (issue 18, item 13): anonymous clients by IP, signed-in
accounts and API tokens by a quota of their own, an API token's quota settable per token."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api import accounts as auth
from api.db import transaction
from api.settings import get_settings
from tests.api import cases_world as w

REPORT = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "楼道堆物"}


def _api_token(url: str, username: str) -> tuple[int, dict[str, str]]:
    with transaction(url) as session:
        token_id, token = auth.create_api_token(session, username, label="12345 热线")
    return token_id, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def limited(db_url, monkeypatch):
    """The case world with the default rate limits on (intake: bursts of 10 per client)."""
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "true")
    get_settings.cache_clear()
    w.build(db_url)
    yield db_url
    get_settings.cache_clear()


def _client(url: str) -> TestClient:
    from api.main import create_app

    return TestClient(create_app(url))


def test_accounts_and_api_tokens_file_past_the_per_ip_limit(limited):
    headers = w.accounts(limited)
    _, hotline = _api_token(limited, "admin1")
    with _client(limited) as client:
        for n in range(15):  # more than the 10 an address may send at once
            filed = client.post("/api/cases", json=REPORT, headers=hotline)
            assert filed.status_code == 201, (n, filed.text)
            signed_in = client.post("/api/cases", json=REPORT, headers=headers["leader_a"])
            assert signed_in.status_code == 201, (n, signed_in.text)
        # anonymous reports from the same address still have the address's bucket
        answers = [client.post("/api/cases", json=REPORT).status_code for _ in range(11)]
        assert answers == [201] * 10 + [429]
        refused = client.post("/api/cases", json=REPORT)
        assert refused.json()["detail"].startswith("请求过于频繁")
        assert "admin1" not in refused.text and "leader_a" not in refused.text
        # a made-up or revoked credential buys no fresh bucket: it counts as its address
        fake = {"Authorization": "Bearer wg_made-up-token-of-43-characters-xxxxxxxxxxx"}
        assert client.post("/api/cases", json=REPORT, headers=fake).status_code == 429
        assert client.post("/api/cases", json=REPORT, headers=hotline).status_code == 201


def test_an_api_token_gets_the_quota_set_for_it(limited, monkeypatch):
    w.accounts(limited)
    token_id, slow = _api_token(limited, "admin1")
    _, other = _api_token(limited, "dept1")
    monkeypatch.setenv("WANGGE_RATE_LIMIT_TOKEN_PER_MINUTE", json.dumps({str(token_id): 12}))
    get_settings.cache_clear()
    with _client(limited) as client:
        # 12 a minute: bursts of 2, whatever the group's own rate
        answers = [client.post("/api/cases", json=REPORT, headers=slow) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert int(answers[2].headers["retry-after"]) >= 1
        # another token of the same address keeps the account quota
        codes = {
            client.post("/api/cases", json=REPORT, headers=other).status_code for _ in range(12)
        }
        assert codes == {201}
