"""The interactive API documentation at /docs, served with the app's own copy of Swagger UI
(installed from npm with the map pages' libraries): no CDN, so it works on an intranet."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from maps.assets import VENDOR_URL
from maps.nonce import nonce_attr

router = APIRouter(include_in_schema=False)

SWAGGER = f"{VENDOR_URL}/swagger-ui-dist"


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="网格 Wangge API",
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
    )
    # FastAPI's own template (no data in it): its start script carries the response's nonce
    body = page.body.decode().replace("<script>", f"<script{nonce_attr()}>")
    return HTMLResponse(body)
