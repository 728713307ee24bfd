"""One settings class for the service, read from WANGGE_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


def default_state_dir() -> Path:
    """Per-user directory for the managed PostGIS cluster, never under /root.

    Root's cluster lives in /var/lib/wangge because its server runs as `postgres`, which
    cannot enter /root; other users keep theirs in ~/.local/state/wangge.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/wangge")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wangge"


class Settings(BaseSettings):
    """Service settings; every field can be set as WANGGE_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", extra="ignore")

    database_url: str | None = None
    state_dir: Path = default_state_dir()
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    pg_database: str = "wangge"
    host: str = "127.0.0.1"
    port: int = 8000
    # map pages (issue 7): base-map tiles ("none" = plain background, no tile requests) and the
    # feature count above which a layer is served as vector tiles instead of inline GeoJSON
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap contributors"
    map_vector_threshold: int = 3000
    # cases (issue 6): dispatch tolerance, duplicate window, photo and text limits
    case_nearest_m: float = 50.0
    case_duplicate_m: float = 50.0
    case_duplicate_hours: float = 24.0
    case_photo_max_bytes: int = 5 * 1024 * 1024
    case_photo_max_pixels: int = 50_000_000  # a 48-megapixel phone photo; more is refused
    case_text_max_chars: int = 2000
    # residents (issue 17): reopening after resolved, "me too" on nearby open reports
    report_reopen_days: float = 7.0
    report_nearby_max: int = 5
    # reporters hear back (issue 17): the outbox job and its senders (gateways off by default)
    notify_job: bool = True
    notify_poll_s: float = 5.0
    notify_max_attempts: int = 8
    notify_backoff_s: float = 30.0
    notify_log: bool = True
    notify_sms_enabled: bool = False
    notify_sms_url: str | None = None
    notify_sms_token: str | None = None
    notify_wechat_enabled: bool = False
    notify_wechat_url: str | None = None
    notify_wechat_token: str | None = None
    # access tokens (JWT, HS256): lifetime, and the signing secret; without WANGGE_SECRET_KEY one
    # is generated once and kept in <state_dir>/secret_key (0600), so restarts keep tokens valid
    token_minutes: int = 30
    secret_key: str | None = None
    # request limits (api/middleware.py) and write validation (api/validation.py)
    max_body_bytes: int = 8 * 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    body_read_timeout_s: float = 30.0  # a body not sent whole by then: 408 (outside the slots)
    max_address_chars: int = 200  # one address to geocode (422 above it)
    rate_limit: bool = True
    # buckets in PostgreSQL, one count for every worker process (false: each process its own)
    rate_limit_shared: bool = True
    # reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For gives the client's
    # address; none by default: every other sender's header is ignored
    trusted_proxies: str = ""
    rate_limit_public_per_minute: float = 300.0
    rate_limit_public_burst: int = 60
    rate_limit_intake_per_minute: float = 30.0
    rate_limit_intake_burst: int = 10
    rate_limit_auth_per_minute: float = 20.0
    rate_limit_auth_burst: int = 10
    rate_limit_tiles_per_minute: float = 1200.0
    rate_limit_tiles_burst: int = 300
    rate_limit_pages_per_minute: float = 60.0  # the map pages, each built whole (~0.6 s, 1.7 MB)
    rate_limit_pages_burst: int = 10
    # signed-in accounts and API tokens draw on a quota of their own (never their IP's) in each
    # group: at least the group's rate, else this; an API token may get its own rate by id
    # (WANGGE_RATE_LIMIT_TOKEN_PER_MINUTE='{"3": 2000}')
    rate_limit_account_per_minute: float = 600.0
    rate_limit_account_burst: int = 100
    rate_limit_token_per_minute: dict[str, float] = {}
    max_in_flight: int = 32  # requests in the app at once (0: no limit); others wait, then 503
    in_flight_wait_s: float = 10.0
    # station analyses (coverage, site suggestions; api/stations/budget.py): at once per process,
    # how long a request waits for a free one, how long for its answer (then 503, cached later)
    analysis_slots: int = 1
    analysis_wait_s: float = 2.0
    analysis_budget_s: float = 10.0
    max_vertices: int = 20_000
    service_area_margin_m: float = 5_000.0


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache or override the dependency)."""
    return Settings()
