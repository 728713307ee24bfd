"""Senders, one per channel: SMS and WeChat adapters (off unless configured) and the log
sender (on), which writes each message to the service log with the phone masked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

log = logging.getLogger("wangge.notifications")


class SendError(RuntimeError):
    """A message could not be delivered now; the job tries again later."""


class Sender(Protocol):
    name: str

    def send(self, note: Any) -> None:
        """Deliver `note` (a notifications row) or raise SendError."""


def mask(phone: str | None) -> str:
    """138****5678: enough for a log line, not the number."""
    if not phone:
        return "-"
    digits = phone.replace(" ", "").replace("-", "")
    return digits[:3] + "****" + digits[-4:] if len(digits) > 7 else "****"


class LogSender:
    name = "log"

    def __init__(self) -> None:
        # the service configures only uvicorn's loggers: without a handler anywhere, INFO lines
        # of this one would vanish (logging's last resort shows warnings only)
        if not log.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
            log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)

    def send(self, note: Any) -> None:
        log.info(
            "notification %s via %s to %s: %s",
            note.dedupe_key, note.channel, mask(note.address), note.body,
        )  # fmt: skip


@dataclass
class GatewaySender:
    """POSTs JSON to an SMS or WeChat gateway; the dedupe key goes as Idempotency-Key so a
    gateway that saw a message before (a commit lost after sending) drops the repeat."""

    name: str
    url: str
    token: str | None = None
    timeout_s: float = 10.0

    def send(self, note: Any) -> None:
        headers = {"Idempotency-Key": note.dedupe_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"to": note.address, "text": note.body, "case_id": note.case_id}
        for subject in ("notice_id", "service_order_id"):
            if getattr(note, subject, None) is not None:
                body[subject] = getattr(note, subject)
        try:
            r = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise SendError(f"{self.name} gateway unreachable: {exc}") from None
        if r.status_code >= 300:
            raise SendError(f"{self.name} gateway answered {r.status_code}")


def senders_from(settings: Any) -> dict[str, Sender]:
    """Channel → sender: the configured gateways, the log sender for every other channel."""
    out: dict[str, Sender] = {}
    if settings.notify_log:
        out = {"sms": LogSender(), "wechat": LogSender(), "status_page": LogSender()}
        out["app"] = out["status_page"]  # a district notice to someone with no phone: their page
    if settings.notify_sms_enabled and settings.notify_sms_url:
        out["sms"] = GatewaySender("sms", settings.notify_sms_url, settings.notify_sms_token)
    if settings.notify_wechat_enabled and settings.notify_wechat_url:
        out["wechat"] = GatewaySender(
            "wechat", settings.notify_wechat_url, settings.notify_wechat_token
        )
    return out
