"""`wangge ingest register`: a messy 楼栋台账 of the synthetic city joined to its buildings."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from api.ingest.register import read_register
from api.settings import get_settings
from data.register import messy_register, write_register
from data.synthetic import generate_city
from tests.conftest import gridded_city_database

runner = CliRunner()


@pytest.fixture(scope="module")
def register_rows():
    city = generate_city(size="community", seed=0)
    rows, truth = messy_register(city.buildings, city.compounds, seed=3)
    households = {}
    for number, row in enumerate(rows, start=1):
        if number in truth:
            households[number] = int(
                str(row[6])
                .translate(str.maketrans("０１２３４５６７８９", "0123456789"))
                .removesuffix("户")
            )
    return rows, truth, households


@pytest.fixture(scope="module")
def city_url(pg_cluster):
    with gridded_city_database(pg_cluster, "test_register") as url:
        yield url


@pytest.fixture
def city(city_url, monkeypatch):
    """The module's city database for the CLI; each test compares before and after itself."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", city_url)
    get_settings.cache_clear()
    yield city_url
    get_settings.cache_clear()


def _stored(url: str) -> dict[str, tuple]:
    with transaction(url) as session:
        rows = session.execute(
            text(
                "SELECT building_id, households, households_source, households_estimated "
                "FROM buildings"
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _ingest(path, *options):
    return runner.invoke(app, ["ingest", "register", str(path), *options])


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_refused_register_writes_nothing(city, register_rows, tmp_path, suffix):
    rows, truth, _ = register_rows
    before = _stored(city)
    result = _ingest(write_register(rows, tmp_path / f"台账{suffix}"))
    assert result.exit_code == 1, result.output
    assert "未写入任何数据" in result.stderr and "nothing written" in result.stderr
    reported = {n for n, b in truth.items() if b is None}
    for number in reported:
        assert f"第 {number} 行" in result.stderr
    assert _stored(city) == before


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_skip_invalid_writes_only_joined_rows(city, register_rows, tmp_path, suffix):
    rows, truth, households = register_rows
    before = _stored(city)
    result = _ingest(write_register(rows, tmp_path / f"台账{suffix}"), "--skip-invalid")
    assert result.exit_code == 0, result.output
    after = _stored(city)
    joined = {b: households[n] for n, b in truth.items() if b is not None}
    right = [b for b, h in joined.items() if after[b] == (h, "register", False)]
    assert len(right) >= 0.98 * len(joined)
    # nothing else changed, and no building got another row's count
    changed = {b for b in after if after[b] != before[b]}
    assert changed <= set(joined), changed - set(joined)
    assert all(after[b] == (joined[b], "register", False) for b in changed)
    absent = sorted(n for n, b in truth.items() if b is None)
    assert f"对应到楼栋 {len(right)} 行" in result.output
    assert f"未对应 {len(truth) - len(right)} 行" in result.output
    for number in absent:
        assert f"第 {number} 行" in result.output


def test_columns_can_be_named(city, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("编号,户口数,门牌\nB000001,77,\n", encoding="utf-8")
    result = _ingest(path, "--households-column", "户口数", "--id-column", "编号")
    assert result.exit_code == 0, result.output
    assert _stored(city)["B000001"] == (77, "register", False)
    assert "楼栋编号 id 1" in result.output


def test_building_popup_shows_the_source(city, tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app

    path = tmp_path / "r.csv"
    path.write_text("楼栋编号,户数\nB000001,66\n", encoding="utf-8")
    assert _ingest(path).exit_code == 0
    with TestClient(create_app()) as client:
        body = client.get("/api/buildings/B000001").json()
        assert body["households"] == 66 and body["households_source"] == "register"
        assert body["households_rule"] is None
        assert client.get("/api/buildings/nope").status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not really a zip", "无法作为 Excel 文件读取"),
        (b"\x00\x01\x02binary", "不是文本表格"),
        ("名称,地址\n甲,乙\n".encode(), "找不到含“户数/住户数”的表头"),
        ("户数\n".encode(), "没有数据行"),
    ],
)
def test_hostile_files_are_clear_errors(city, tmp_path, content, message):
    suffix = ".xlsx" if content.startswith(b"PK") else ".csv"
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    result = _ingest(path)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_huge_file_is_refused_before_reading(city, tmp_path, monkeypatch):
    from api.ingest import register

    monkeypatch.setattr(register, "MAX_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text("户数\n" + "1\n" * 100, encoding="utf-8")
    result = _ingest(path)
    assert result.exit_code == 1 and "文件过大" in result.stderr


def test_reader_handles_gbk_and_bad_values(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        "小区,楼栋,户数,经度,纬度\n荷塘花园,1号楼,１２户,,\n荷塘花园,2号楼,很多,,\n,,5,118.8,\n".encode(
            "gb18030"
        )
    )
    first, second, third = read_register(path)
    assert (first.row, first.address_text, first.households, first.problem) == (
        2,
        "荷塘花园1号楼",
        12,
        None,
    )
    assert second.problem.startswith("户数“很多”不是整数")
    assert third.problem.startswith("经纬度不完整")


def test_a_building_named_twice_is_reported_not_summed(city, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("小区名称,楼栋,户数\n华庭新村,1号楼,40\n华庭新村,1栋,41\n", encoding="utf-8")
    before = _stored(city)
    result = _ingest(path)
    assert result.exit_code == 1
    assert "第 3 行" in result.stderr and "与第 2 行是同一楼栋" in result.stderr
    assert _stored(city) == before


def test_address_key_reads_offices_spelling():
    from api.ingest.register import address_key

    assert address_key("荷塘花园 １号楼") == address_key("荷塘花园1幢") == "荷塘花园1栋"
    assert address_key("南米市三巷11号") == "南米市三巷11栋"  # both sides read the same way
    assert address_key("华庭新村3座") != address_key("华庭新村13座")


def test_header_text_from_the_file_is_shown_as_written(city, tmp_path):
    path = tmp_path / "markup.csv"
    path.write_text("[bold]名称[/bold],地址\n甲,乙\n", encoding="utf-8")
    result = _ingest(path, "--households-column", "[red]户口[/red]")
    assert result.exit_code == 1
    assert "表头中没有“[red]户口[/red]”列" in result.stderr
    assert "[bold]名称[/bold]" in result.stderr
