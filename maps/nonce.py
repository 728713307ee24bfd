"""The CSP nonce of the page being answered. The web layer sets it once per response (and
names it in the Content-Security-Policy header for scripts and styles); the pages stamp it on
their own inline `<script>` and `<style>` tags only, never on anything that came from data."""

from __future__ import annotations

from contextvars import ContextVar

CSP_NONCE: ContextVar[str] = ContextVar("csp_nonce", default="")


def nonce_attr() -> str:
    """` nonce="…"` for a script or style tag of this response, or "" outside a request."""
    nonce = CSP_NONCE.get()
    return f' nonce="{nonce}"' if nonce else ""
