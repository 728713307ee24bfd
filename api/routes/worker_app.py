"""The worker app as a PWA: its web manifest and its service worker, served from /map so the
worker's page (/map/worker) is in the worker's scope. The service worker's cache is named by
a hash of the files it keeps, so a new deploy replaces it."""

from __future__ import annotations

import hashlib
import json
from functools import cache

from fastapi import APIRouter, Query
from fastapi.responses import Response

from maps.assets import LOCAL_CSS, LOCAL_JS, PAGE_CSS, STATIC_DIR, STATIC_URL
from maps.messages import language
from maps.worker import MANIFEST_URL, SCRIPTS, SERVICE_WORKER_URL, THEME
from maps.worker_text import worker_text

router = APIRouter(prefix="/map", tags=["maps"])
PAGE = "/map/worker"
OWN = ("wangge.js", "worker.js", *SCRIPTS, "worker.css", "notices.css", "worker_icon_192.png",
       "worker_icon_512.png")  # fmt: skip
SHELL = (LOCAL_JS["leaflet"], LOCAL_CSS["leaflet_css"], *PAGE_CSS,
         *(f"{STATIC_URL}/{name}" for name in OWN))  # fmt: skip


@cache
def shell_version() -> str:
    """12 hex digits of SHA-256 over the app's own files and the service worker's source."""
    digest = hashlib.sha256()
    for url in (*SHELL, f"{STATIC_URL}/worker_sw.js"):
        if url.startswith(STATIC_URL):
            digest.update((STATIC_DIR / url[len(STATIC_URL) + 1 :]).read_bytes())
    return digest.hexdigest()[:12]


@router.get(MANIFEST_URL.removeprefix("/map"), include_in_schema=False)
def manifest(lang: str = Query("zh")) -> Response:
    """The web app manifest: the worker's page, installed, opens full screen."""
    words = worker_text(language(lang))
    body = {
        "name": words["app_name"],
        "short_name": words["app_short"],
        "lang": "en" if language(lang) == "en" else "zh-CN",
        "start_url": PAGE,
        "scope": PAGE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            {"src": f"{STATIC_URL}/worker_icon_{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@router.get(SERVICE_WORKER_URL.removeprefix("/map"), include_in_schema=False)
def service_worker() -> Response:
    """The service worker with its cache version and the files it keeps."""
    source = (STATIC_DIR / "worker_sw.js").read_text(encoding="utf-8")
    settings = {"version": shell_version(), "page": PAGE, "shell": list(SHELL)}
    source = source.replace("/*SETTINGS*/{}", json.dumps(settings))
    return Response(
        source,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": PAGE},
    )
