"""`wangge address parse`, exactly as the contract says."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app
from geo.address import LABELS

runner = CliRunner()

LINES = [
    "浙江省杭州市西湖区文三路478号华星时代广场A座1201室",
    "",
    "臺北市大安區忠孝東路４段１２號",
    "南京玄武区玄武门街道新门口社区 3-2-501",
    "   ",
]


def test_round_trip(tmp_path):
    src, out = tmp_path / "addresses.txt", tmp_path / "parsed.jsonl"
    src.write_text("\r\n".join(LINES) + "\r\n", encoding="utf-8")
    result = runner.invoke(app, ["address", "parse", "--in", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == LINES
    for record in records:
        assert set(record) == {"text", "components"}
        last = 0
        for comp in record["components"]:
            assert set(comp) == {"label", "text", "start", "end"}
            assert comp["label"] in LABELS
            assert last <= comp["start"] < comp["end"]
            assert record["text"][comp["start"] : comp["end"]] == comp["text"]
            last = comp["end"]
    assert records[1]["components"] == [] and records[4]["components"] == []
    first = {c["label"]: c["text"] for c in records[0]["components"]}
    assert first["district"] == "西湖区" and first["roomno"] == "1201室"
    assert "華" not in out.read_text(encoding="utf-8") and "\\u" not in out.read_text("utf-8")


def test_large_file_shows_progress(tmp_path):
    src, out = tmp_path / "many.txt", tmp_path / "many.jsonl"
    src.write_text("南京市玄武区中山路100号\n" * 2500, encoding="utf-8")
    result = runner.invoke(app, ["address", "parse", "--in", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2500


def test_missing_input_is_a_clear_error(tmp_path):
    out = tmp_path / "x.jsonl"
    args = ["address", "parse", "--in", str(tmp_path / "nope.txt"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "not found" in result.output


def test_non_utf8_input_is_a_clear_error(tmp_path):
    src = tmp_path / "gbk.txt"
    src.write_bytes("南京市玄武区".encode("gbk"))
    result = runner.invoke(
        app, ["address", "parse", "--in", str(src), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "UTF-8" in result.output
