"""Events: polling by id, and the live stream of server-sent events."""

from __future__ import annotations

import json

import httpx

from .conftest import Served


def test_events_page_by_id_and_filter_by_app(served: Served) -> None:
    served.store.event("web", "sync-started", "sync of web began")
    served.store.event("db", "sync-started", "sync of db began")
    with served.client("viewer") as client:
        every = client.get("/api/v1/events").json()["events"]
        last = every[-1]["id"]
        served.store.event("web", "sync-finished", "sync of web succeeded")
        newer = client.get("/api/v1/events", params={"since": last}).json()["events"]
        web = client.get("/api/v1/events", params={"app": "web"}).json()["events"]
    with served.client("scoped") as client:
        scoped = client.get("/api/v1/events").json()["events"]
        forbidden = client.get("/api/v1/events", params={"app": "web"})

    assert [e["message"] for e in newer] == ["sync of web succeeded"]
    assert [e["kind"] for e in web] == ["sync-started", "sync-finished"]
    assert [e["app"] for e in scoped] == ["db"]
    assert forbidden.status_code == 403


def test_the_stream_sends_new_events_as_they_happen(served: Served) -> None:
    served.store.event("web", "old", "before the stream")
    headers = {"Authorization": f"Bearer {served.tokens['viewer']}"}
    with httpx.stream("GET", f"{served.url}/api/v1/events/stream", headers=headers,
                      params={"app": "web"}, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        served.store.event("db", "other", "another app")
        served.store.event("web", "sync-finished", "sync of web succeeded")
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break

    event_line = next(line for line in lines if line.startswith("event:"))
    data = json.loads(lines[-1].removeprefix("data:"))
    assert event_line == "event: sync-finished"
    assert (data["app"], data["message"]) == ("web", "sync of web succeeded")
    assert any(line.startswith("id: ") for line in lines)


def test_the_stream_needs_a_credential(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/v1/events/stream", timeout=5)

    assert answer.status_code == 401
