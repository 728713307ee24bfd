"""The deployment recipe in docs/deploy/ (issue 18): systemd units that systemd accepts, the
commands they run exist, and the backup command writes a real dump."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
WANGGE = Path(sys.executable).with_name("wangge")
UNITS = (
    "wangge.service",
    "wangge-migrate.service",
    "wangge-backup.service",
    "wangge-backup.timer",
)


def _installed_here(name: str, target: Path) -> Path:
    """The unit with this checkout's paths in place of /opt/wangge and /etc/wangge."""
    text = (DEPLOY / name).read_text()
    text = text.replace("/opt/wangge/.venv/bin/wangge", str(WANGGE))
    for env in ("wangge.env", "owner.env"):
        text = text.replace(f"/etc/wangge/{env}", str(DEPLOY / env))
    (target / name).write_text(text)
    return target / name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    paths = [str(_installed_here(name, tmp_path)) for name in UNITS]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # unknown keys and bad values are only warnings: none may name our files
    assert not [line for line in done.stderr.splitlines() if "wangge" in line], done.stderr


def _exec_start(name: str) -> list[str]:
    line = next(
        ln for ln in (DEPLOY / name).read_text().splitlines() if ln.startswith("ExecStart=")
    )
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_service_runs_serve_with_workers_and_the_help_lists_them():
    argv = _exec_start("wangge.service")
    assert argv[1:2] == ["serve"] and "--workers" in argv
    helped = subprocess.run([WANGGE, "serve", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--workers" in helped.stdout
    env = (DEPLOY / "wangge.env").read_text()
    assert re.search(r"^WANGGE_TRUSTED_PROXIES=127\.0\.0\.1$", env, re.M)
    nginx = (DEPLOY / "nginx-wangge.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "listen 443 ssl;" in nginx and "proxy_pass http://wangge;" in nginx


def test_the_backup_command_writes_a_dump(db_url, tmp_path):
    """The timer's service command, unescaped as systemd does ($$ → $, %% → %), run here."""
    argv = _exec_start("wangge-backup.service")
    assert argv[:2] == ["/bin/sh", "-c"]
    script = argv[2].replace("$$", "$").replace("%%", "%")
    script = script.replace("/opt/wangge/.venv/bin/wangge", str(WANGGE))
    script = script.replace("/var/backups/wangge", str(tmp_path))
    env = {**os.environ, "WANGGE_DATABASE_URL": db_url, "WANGGE_STATE_DIR": str(tmp_path)}
    done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout
    dumps = list(tmp_path.glob("wangge-*.dump"))
    assert len(dumps) == 1 and re.fullmatch(r"wangge-\d{8}-\d{4}\.dump", dumps[0].name)
    assert dumps[0].read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
