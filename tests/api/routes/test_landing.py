"""The landing page names the demo's accounts when the demo made them, and only then."""

from __future__ import annotations

from api import accounts
from api.db import transaction

PASSWORD = "Landing-page-2026"


def test_demo_accounts_are_listed_only_when_the_demo_made_them(db_url, client):
    with transaction(db_url) as session:
        accounts.create_user(session, "ops", "admin", PASSWORD, actor="cli:root")
    assert 'id="demo-accounts"' not in client.get("/").text
    with transaction(db_url) as session:
        for role in ("admin", "planner"):
            accounts.create_user(session, role, role, PASSWORD, actor="demo")
        accounts.set_disabled(session, "planner", disabled=True, actor="cli:root")
    page = client.get("/").text
    assert "演示账号" in page and "<code>admin</code>" in page
    assert "<code>planner</code>" not in page and "<code>ops</code>" not in page
    assert "Demo accounts" in client.get("/?lang=en").text
