"""The service-order pages' shells: both languages carry every text, and the ordering page has
the sign-in form the volunteer page has (one builder) and the resident's 我的服务单."""

from __future__ import annotations

import re

from maps.order import build_order_page
from maps.service_text import TEXT
from maps.volunteer import build_volunteer_page

VIEW = {"tiles": None, "attribution": "", "bounds": [[32.0, 118.7], [32.1, 118.9]]}


def test_both_languages_have_every_text():
    assert set(TEXT["zh"]) == set(TEXT["en"])


def signin(html: str) -> str:
    return re.search(r'<form id="signin".*?</div>', html, re.S).group(0)


def test_order_page_signs_in_like_the_volunteer_page_and_lists_my_orders():
    langs = (("zh", "我的服务单", "登录"), ("en", "My service orders", "Sign in"))
    for lang, mine, sign_in in langs:
        order = build_order_page(VIEW, lang=lang)
        assert signin(order) == signin(build_volunteer_page(lang=lang))
        assert f">{sign_in}</button>" in signin(order) and 'id="btn-sign-out"' in order
        assert f"<h2>{mine}</h2>" in order and 'id="mine-list"' in order
        assert order.count('id="signin"') == 1 and 'id="signed-in-note"' in order
