"""Reporters hear back: an outbox of messages queued with each status change of their case
(`outbox`), pluggable senders (`senders`) and the job that sends them (`job`)."""

from api.notifications.outbox import queue_status_change

__all__ = ["queue_status_change"]
