#!/usr/bin/env bash
# Set up what is missing, then run a task. Usage: ./dev.sh setup|demo|test [args…]
#   ./dev.sh demo   set up, then start PostGIS, load the synthetic city and serve http://127.0.0.1:8000/
#   ./dev.sh test   set up, then lint and run the whole test suite on throwaway PostGIS clusters,
#                   one pytest-xdist worker per core (extra arguments go to pytest)
# Idempotent: a second run skips every step that is already done.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    say "installing Debian packages: $*"
    if [ -z "${WANGGE_APT_UPDATED:-}" ]; then
        as_root apt-get update -qq
        export WANGGE_APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

setup_system() {
    local missing=()
    [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
    [ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
    command -v runuser >/dev/null || missing+=(util-linux)
    # the map pages' browser tests drive Debian's chromium; their Leaflet comes from npm
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; else say "PostgreSQL 15 + PostGIS, chromium, npm present"; fi
}

find_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "error: Python 3.11 or newer is needed" >&2
    exit 1
}

setup_python() {
    local py stamp want
    if [ ! -x .venv/bin/python ]; then
        py=$(find_python)
        say "creating .venv with $py"
        if ! "$py" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            apt_install "python3-venv"
            "$py" -m venv .venv
        fi
    fi
    stamp=.venv/.wangge-installed
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python dependencies into .venv"
        .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
        echo "$want" >"$stamp"
    else
        say "Python dependencies up to date"
    fi
}

setup_frontend() {
    # Leaflet and its plugins for the map pages, served from maps/static/vendor/node_modules
    local dir=maps/static/vendor stamp want
    stamp=$dir/node_modules/.wangge-installed
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing the map pages' JavaScript (npm ci)"
        npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
        echo "$want" >"$stamp"
    else
        say "map JavaScript up to date"
    fi
}

setup() {
    setup_system
    setup_python
    setup_frontend
}

task=${1:-}
[ $# -gt 0 ] && shift
case "$task" in
setup) setup ;;
demo)
    setup
    exec .venv/bin/wangge demo "$@"
    ;;
test)
    setup
    say "lint"
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    # one xdist worker per core, each with its own throwaway PostGIS (tests/conftest.py);
    # arguments after `test` come last, so `./dev.sh test -n 0` runs in one process
    say "tests on $(nproc) cores"
    exec .venv/bin/pytest -n "$(nproc)" --dist loadgroup "$@"
    ;;
*)
    echo "usage: ./dev.sh setup|demo|test [args…]" >&2
    exit 2
    ;;
esac
