"""The page scripts with a text table take their T from wangge.localText (one helper: the
page's language, Chinese where a text is missing), none of them a copy of their own."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "maps" / "static"
TABLED = ("worker_notices.js", "worker_visits.js")


def test_text_tables_go_through_wangge_local_text():
    for name in TABLED:
        source = (STATIC / name).read_text(encoding="utf-8")
        assert "localText(TEXT)" in source, name
        assert not re.search(r"function\s+T\s*\(", source), f"{name} has its own T"
