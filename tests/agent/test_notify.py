"""Notifications reach real HTTP receivers, and a bad receiver never holds up the caller."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from gitward.agent.notify import NOTIFY_EVENTS, Notifier, NotifyTarget, redact_url


class Receiver:
    """A local HTTP server that records each POST and answers 200, 404, 500 or never."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.release = threading.Event()  # lets hanging requests finish at teardown
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = False  # server_close() joins the request threads
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        with self._arrived:
            self.requests.append((path, headers, json.loads(body)))
            self._arrived.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver._record(self.path, dict(self.headers), body)
                if receiver.answer == "hang":
                    receiver.release.wait(10)
                    return  # never answer; the client has long timed out
                status = {"ok": 200, "fail": 500, "reject": 404}[receiver.answer]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Callable[[str], Receiver]]:
    started: list[Receiver] = []

    def start(answer: str) -> Receiver:
        started.append(Receiver(answer))
        return started[-1]

    yield start
    for one in started:
        one.close()


@pytest.fixture
def notify_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="gitward.agent.notify")
    return caplog


def test_a_json_target_gets_the_event_as_plain_json(
        receiver: Callable[[str], Receiver]) -> None:
    ok = receiver("ok")
    data: dict[str, Any] = {"resources": ["File/motd"], "at": datetime(2024, 5, 1)}
    with Notifier([NotifyTarget(url=ok.url(), format="json")]) as notifier:
        notifier.notify("sync_failed", "web", "apply failed", revision="4f2a9c", data=data)
        data["resources"].append("changed after notify")

    assert ok.wait_for(1)
    path, headers, body = ok.requests[0]
    assert path == "/hook"
    assert headers["Content-Type"] == "application/json"
    assert body["at"].endswith("Z")
    assert {key: value for key, value in body.items() if key != "at"} == {
        "event": "sync_failed", "app": "web", "message": "apply failed", "revision": "4f2a9c",
        "data": {"resources": ["File/motd"], "at": "2024-05-01 00:00:00"}}


def test_a_slack_target_gets_readable_text(receiver: Callable[[str], Receiver]) -> None:
    ok = receiver("ok")
    with Notifier([NotifyTarget(url=ok.url(), format="slack")]) as notifier:
        notifier.notify("health_degraded", "web", "service <nginx> is failed",
                        revision="0123456789abcdef0123")

    assert ok.wait_for(1)
    assert ok.requests[0][2] == {"text": ":red_circle: *web*: health degraded at "
                                         "`0123456789ab`\nservice &lt;nginx&gt; is failed"}


def test_targets_get_only_the_events_they_asked_for(receiver: Callable[[str], Receiver]) -> None:
    failures, everything = receiver("ok"), receiver("ok")
    targets = [NotifyTarget(url=failures.url(), events=["sync_failed"]),
               NotifyTarget(url=everything.url())]
    with Notifier(targets) as notifier:
        for event in NOTIFY_EVENTS:
            notifier.notify(event, "web", event)

    assert everything.wait_for(len(NOTIFY_EVENTS))
    assert [body["event"] for _, _, body in failures.requests] == ["sync_failed"]


def test_a_failing_receiver_is_retried_then_given_up_on_with_a_redacted_log(
        receiver: Callable[[str], Receiver], notify_logs: pytest.LogCaptureFixture) -> None:
    failing = receiver("fail")
    url = f"http://bot:pa55word@127.0.0.1:{failing.port}/services/T000/B000/TOKEN?key=qs-secret"
    with Notifier([NotifyTarget(url=url, retries=2)], backoff=0.01) as notifier:
        notifier.notify("drift_detected", "web", "motd changed")

    assert len(failing.requests) == 3
    assert (f"notification drift_detected for app web to http://127.0.0.1:{failing.port}"
            f"/services/***?key=*** failed after 3 attempt(s): receiver answered HTTP 500"
            ) in notify_logs.text
    for secret in ("pa55word", "TOKEN", "qs-secret"):
        assert secret not in notify_logs.text


def test_a_client_error_answer_is_not_retried(receiver: Callable[[str], Receiver],
                                              notify_logs: pytest.LogCaptureFixture) -> None:
    rejecting = receiver("reject")
    with Notifier([NotifyTarget(url=rejecting.url(), retries=3)], backoff=0.01) as notifier:
        notifier.notify("sync_failed", "web", "boom")

    assert len(rejecting.requests) == 1
    assert "failed after 1 attempt(s): receiver answered HTTP 404" in notify_logs.text


def test_an_unreachable_receiver_is_retried_then_logged(
        notify_logs: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    target = NotifyTarget(url=f"http://127.0.0.1:{closed_port}/hook", retries=1)
    with Notifier([target], backoff=0.01) as notifier:
        notifier.notify("sync_failed", "web", "boom")

    assert "failed after 2 attempt(s): ConnectError" in notify_logs.text


def test_a_hanging_receiver_never_blocks_the_caller_nor_other_receivers(
        receiver: Callable[[str], Receiver], notify_logs: pytest.LogCaptureFixture) -> None:
    hanging, ok = receiver("hang"), receiver("ok")
    targets = [NotifyTarget(url=hanging.url(), timeout=0.3, retries=0),
               NotifyTarget(url=ok.url())]
    notifier = Notifier(targets, queue_size=2)

    started = time.monotonic()
    for attempt in range(10):
        notifier.notify("sync_failed", "web", f"attempt {attempt}")
    notify_took = time.monotonic() - started

    assert ok.wait_for(2)  # the healthy receiver is served while the other hangs
    assert hanging.wait_for(1)
    started = time.monotonic()
    notifier.close(timeout=0.5)
    close_took = time.monotonic() - started

    assert notify_took < 0.1
    assert close_took < 1.0
    assert "is full (2 waiting); dropped sync_failed for app web" in notify_logs.text
    assert "still pending at shutdown" in notify_logs.text


def test_notify_after_close_is_dropped_quietly(receiver: Callable[[str], Receiver],
                                               notify_logs: pytest.LogCaptureFixture) -> None:
    ok = receiver("ok")
    notifier = Notifier([NotifyTarget(url=ok.url())])
    notifier.close()

    notifier.notify("sync_failed", "web", "late")

    assert "notifier is closed; dropped sync_failed for app web" in notify_logs.text
    assert ok.requests == []


def test_an_unknown_event_name_is_a_programming_error() -> None:
    with Notifier([]) as notifier, pytest.raises(ValueError, match="unknown notification event"):
        notifier.notify("sync_exploded", "web", "?")


def test_a_target_has_sensible_defaults() -> None:
    target = NotifyTarget(url="https://chat.example/hook")

    assert (target.format, target.events, target.timeout, target.retries) == (
        "json", list(NOTIFY_EVENTS), 5.0, 3)


@pytest.mark.parametrize(("fields", "message"), [
    ({"url": "ftp://user:hunter22@files.example/hook"}, "must be http:// or https://"),
    ({"url": "https://chat.example/hook", "events": ["sync_fail"]}, "unknown notification events"),
    ({"url": "https://chat.example/hook", "format": "teams"}, "format"),
    ({"url": "https://chat.example/hook", "timeout": 0}, "timeout"),
])
def test_a_bad_target_is_refused_without_showing_its_url(fields: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        NotifyTarget(**fields)

    assert "hunter22" not in str(refused.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/services/***"),
    ("https://discord.com/api/webhooks/1234567890/AbCdEf-token",
     "https://discord.com/api/webhooks/***"),
    ("https://user:secret@chat.example:8443/hooks/gitward?token=abc&room=ops#frag",
     "https://chat.example:8443/hooks/gitward?token=***&room=***#***"),
    ("https://chat.example/api/v1/notify", "https://chat.example/api/v1/notify"),
    ("https://chat.example/hooks/6f1d0c39e4a8f4c0b2e1aa7d", "https://chat.example/hooks/***"),
    ("https://[::1]:9000/x?sig", "https://[::1]:9000/x?***"),
    ("not a url with s3cret", "***"),
])
def test_urls_in_logs_keep_only_what_is_not_secret(url: str, shown: str) -> None:
    assert redact_url(url) == shown
