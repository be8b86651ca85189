"""Notifications: telling people when an app fails, recovers, drifts or degrades.

The agent calls `Notifier.notify` from its reconcile loop when something a
person should hear about happens (`NOTIFY_EVENTS`). The call only puts a
`Notification` on a bounded queue and returns; each configured
`NotifyTarget` has its own daemon thread that POSTs it, so a receiver that is
down, slow or hanging delays nobody else, and never the reconcile loop:

- the body is Slack-compatible (``{"text": ...}``, also understood by
  Mattermost, Rocket.Chat and Discord's ``/slack`` endpoints) or plain JSON
  (``{"event", "app", "message", "revision", "data", "at"}``);
- connection errors, timeouts, 429 and 5xx answers are retried with
  exponential backoff, ``retries`` times after the first attempt; other
  answers are final; the last failure is logged and the notification dropped;
- when a target's queue is full, new notifications for it are dropped with a
  log line rather than making the caller wait.

Webhook URLs are secrets (Slack's path *is* the credential), so every log
line shows them through `redact_url`.

>>> redact_url("https://hooks.slack.com/services/T000/B000/XXXX")
'https://hooks.slack.com/services/***'
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["NOTIFY_EVENTS", "Notification", "Notifier", "NotifyTarget", "redact_url"]

logger = logging.getLogger("gitward.agent.notify")

NOTIFY_EVENTS: tuple[str, ...] = (
    "sync_failed", "sync_recovered", "drift_detected", "health_degraded", "health_recovered")

_SLACK_HEADLINES = {
    "sync_failed": (":x:", "sync failed"),
    "sync_recovered": (":white_check_mark:", "sync succeeded again"),
    "drift_detected": (":warning:", "drift detected"),
    "health_degraded": (":red_circle:", "health degraded"),
    "health_recovered": (":large_green_circle:", "health recovered"),
}
_MASK = "***"


# -- what is sent, and where ------------------------------------------------

class NotifyTarget(BaseModel):
    """One receiver: where to POST, in which format, for which events."""

    # The URL is a secret: keep it out of validation error messages.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str
    format: Literal["slack", "json"] = "json"
    events: list[str] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    timeout: float = Field(default=5.0, gt=0, description="seconds per attempt")
    retries: int = Field(default=3, ge=0, le=10, description="attempts after the first")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"notification URL {redact_url(url)} must be http:// or https:// "
                             "with a host name")
        return url

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(NOTIFY_EVENTS))
        if unknown:
            raise ValueError(f"unknown notification events {unknown}; "
                             f"choose from {list(NOTIFY_EVENTS)}")
        return events


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing that happened to one app, as the receivers are told."""

    event: str
    app: str
    message: str
    revision: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: str = ""  # ISO 8601, UTC

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def as_slack(self) -> dict[str, Any]:
        icon, headline = _SLACK_HEADLINES.get(
            self.event, (":information_source:", self.event.replace("_", " ")))
        where = f" at `{self.revision[:12]}`" if self.revision else ""
        text = f"{icon} *{_slack_escape(self.app)}*: {headline}{where}"
        if self.message:
            text += f"\n{_slack_escape(self.message)}"
        return {"text": text}

    def body_for(self, target_format: str) -> bytes:
        payload = self.as_slack() if target_format == "slack" else self.as_json()
        return json.dumps(payload, default=str).encode()


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; these three must be escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- keeping secrets out of logs -----------------------------------------------

# Path segments kept as written: short lower-case words such as "api", "v1",
# "hooks". From the first segment that is not one, the rest is masked.
_PLAIN_SEGMENT = re.compile(r"[a-z][a-z0-9._-]{0,19}")
_MAX_DIGITS_IN_PLAIN_SEGMENT = 2


def redact_url(url: str) -> str:
    """`url` without credentials, query values or token-like path segments.

    >>> redact_url("https://bot:pw@example.com:8443/api/v1/notify?token=abc&room=ops")
    'https://example.com:8443/api/v1/notify?token=***&room=***'
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return _MASK
    if not parts.scheme or not parts.hostname:
        return _MASK
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, _redact_path(parts.path),
                       _redact_query(parts.query), _MASK if parts.fragment else ""))


def _redact_path(path: str) -> str:
    kept: list[str] = []
    for segment in path.split("/"):
        if segment and not _is_plain_segment(segment):
            return "/".join([*kept, _MASK])
        kept.append(segment)
    return path


def _is_plain_segment(segment: str) -> bool:
    digits = sum(char.isdigit() for char in segment)
    return bool(_PLAIN_SEGMENT.fullmatch(segment)) and digits <= _MAX_DIGITS_IN_PLAIN_SEGMENT


def _redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = re.split(r"[&;]", query)
    return "&".join(f"{pair.partition('=')[0]}={_MASK}" if "=" in pair else _MASK
                    for pair in pairs if pair)


# -- delivering ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    retryable: bool


class _TargetWorker:
    """A queue and a daemon thread that POST notifications to one target."""

    def __init__(self, target: NotifyTarget, *, backoff: float, queue_size: int) -> None:
        self.target = target
        self.shown_url = redact_url(target.url)
        self._backoff = backoff
        self._capacity = queue_size
        # One slot more than the capacity, kept free for the stop marker.
        self._queue: queue.Queue[Notification | None] = queue.Queue(maxsize=queue_size + 1)
        self._offer_lock = threading.Lock()
        self._abandon = threading.Event()
        self._client = httpx.Client(timeout=target.timeout, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"gitward-notify {self.shown_url}")
        self._thread.start()

    def offer(self, notification: Notification) -> None:
        with self._offer_lock:
            if self._queue.qsize() < self._capacity:
                self._queue.put_nowait(notification)
                return
        logger.warning("notification queue for %s is full (%d waiting); dropped %s for app %s",
                       self.shown_url, self._capacity, notification.event, notification.app)

    def stop(self) -> None:
        with self._offer_lock:
            self._queue.put_nowait(None)

    def wait_stopped(self, deadline: float) -> None:
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            logger.warning("notifications to %s still pending at shutdown; dropping %d queued",
                           self.shown_url, max(0, self._queue.qsize() - 1))
            self._abandon.set()

    def _run(self) -> None:
        try:
            while (notification := self._queue.get()) is not None:
                if not self._abandon.is_set():
                    self._deliver(notification)
        finally:
            self._client.close()

    def _deliver(self, notification: Notification) -> None:
        body = notification.body_for(self.target.format)
        attempts = self.target.retries + 1
        attempt = 1
        while (failure := self._post(body)) is not None:
            if not failure.retryable or attempt == attempts:
                logger.warning("notification %s for app %s to %s failed after %d attempt(s): "
                               "%s", notification.event, notification.app, self.shown_url,
                               attempt, failure.reason)
                return
            if self._abandon.wait(self._backoff * 2 ** (attempt - 1)):
                return  # shutting down: stop retrying
            attempt += 1
        logger.debug("notified %s of %s for app %s", self.shown_url, notification.event,
                     notification.app)

    def _post(self, body: bytes) -> _Failure | None:
        try:
            response = self._client.post(self.target.url, content=body,
                                         headers={"Content-Type": "application/json"})
        except httpx.TransportError as error:  # refused, reset, timed out
            return _Failure(f"{type(error).__name__}: {self._scrub(str(error))}", retryable=True)
        except Exception as error:  # a bad URL or a bug must not kill the worker
            return _Failure(f"{type(error).__name__}: {self._scrub(str(error))}", retryable=False)
        if response.is_success:
            return None
        retryable = response.status_code >= 500 or response.status_code == 429
        return _Failure(f"receiver answered HTTP {response.status_code}", retryable=retryable)

    def _scrub(self, text: str) -> str:
        return text.replace(self.target.url, self.shown_url)


class Notifier:
    """Sends notifications to every target that wants them, without blocking.

    For example::

        notifier = Notifier([NotifyTarget(url="https://chat.example/hook", format="slack")])
        notifier.notify("sync_failed", "web", "apply failed: permission denied", revision="4f2a")
        notifier.close()  # at shutdown: deliver what is queued for up to 5 s
    """

    def __init__(self, targets: Iterable[NotifyTarget], *, backoff: float = 0.5,
                 queue_size: int = 100) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._workers = [_TargetWorker(target, backoff=backoff, queue_size=queue_size)
                         for target in targets]
        self._closed = False

    def notify(self, event: str, app: str, message: str, *, revision: str | None = None,
               data: dict[str, Any] | None = None) -> None:
        """Queue `event` for every target subscribed to it; returns at once.

        Raises `ValueError` for an event name not in `NOTIFY_EVENTS`.
        """
        if event not in NOTIFY_EVENTS:
            raise ValueError(f"unknown notification event {event!r}; "
                             f"choose from {list(NOTIFY_EVENTS)}")
        if self._closed:
            logger.warning("notifier is closed; dropped %s for app %s", event, app)
            return
        notification = Notification(event=event, app=app, message=message, revision=revision,
                                    data=_json_copy(data or {}), at=_utc_now())
        for worker in self._workers:
            if event in worker.target.events:
                worker.offer(notification)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued for up to `timeout` seconds, then stop the workers."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.wait_stopped(deadline)

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _json_copy(data: dict[str, Any]) -> dict[str, Any]:
    # A snapshot taken now: the caller may change its dict after notify() returns.
    copied: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return copied


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
