"""The agent's HTTP surface: probes, metrics, status, and webhooks end to end."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gitward.agent.http import create_app, parse_listen, serve
from gitward.agent.metrics import AgentMetrics
from gitward.agent.state import AppStatus

from .fakes import SECRET, FakeAgent, payload, signed_headers

SMALL_CAP = 1024


def deliveries_counted(metrics: AgentMetrics, provider: str, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "gitward_webhook_deliveries_total", {"provider": provider, "result": result})
    return value or 0.0


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """`app` under a real uvicorn server on a free port; yields its base URL."""
    server = serve(app, "127.0.0.1:0")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
    assert not thread.is_alive()


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
def metrics() -> AgentMetrics:
    return AgentMetrics()


@pytest.fixture
def live_server(agent: FakeAgent, metrics: AgentMetrics) -> Iterator[str]:
    with running(create_app(agent, metrics, webhook_secret=SECRET,
                            max_body=SMALL_CAP)) as base_url:
        yield base_url


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=5) as http:
        yield http


def post_hook(client: httpx.Client, provider: str, fixture: str,
              **signing: Any) -> httpx.Response:
    body = payload(fixture)
    return client.post(f"/hooks/{provider}", content=body,
                       headers=signed_headers(provider, body, **signing))


def raw_request(base_url: str, head: bytes, body_parts: list[bytes]) -> tuple[int, bytes]:
    """Send `head` and `body_parts` over a socket, without finishing the body; read the answer."""
    host, port = parse_listen(base_url.removeprefix("http://"))
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(head)
        for part in body_parts:
            connection.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        header_block, _, body = answer.partition(b"\r\n\r\n")
        lengths = [int(line.split(b":")[1]) for line in header_block.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")]
        while len(body) < (lengths[0] if lengths else 0):
            body += connection.recv(65536)
    return int(header_block.split()[1]), body


def test_a_real_server_answers_probes_and_turns_a_push_into_one_fetch(
        live_server: str, agent: FakeAgent, metrics: AgentMetrics) -> None:
    with httpx.Client(base_url=live_server, timeout=5) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 200

        first = post_hook(http, "github", "github_push", delivery_id="abc-1")
        again = post_hook(http, "github", "github_push", delivery_id="abc-1")
        scrape = http.get("/metrics")

    assert (first.status_code, first.json()) == (202, {"status": "accepted"})
    assert (again.status_code, again.json()) == (202, {"status": "duplicate"})
    assert agent.fetches == ["webhook github abc-1"]
    assert scrape.headers["content-type"].startswith("text/plain")
    assert ('gitward_webhook_deliveries_total{provider="github",result="duplicate"} 1.0'
            in scrape.text)


def test_a_declared_oversized_body_is_refused_before_it_is_sent(
        live_server: str, agent: FakeAgent, metrics: AgentMetrics) -> None:
    # The body never follows the headers: only a server that does not wait for it answers.
    head = (b"POST /hooks/github HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10485760\r\n\r\n")

    status, body = raw_request(live_server, head, [])

    assert status == 413
    assert json.loads(body)["error"]["code"] == "too_large"
    assert agent.fetches == []
    assert deliveries_counted(metrics, "github", "too_large") == 1


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(
        live_server: str, agent: FakeAgent) -> None:
    head = (b"POST /hooks/generic HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (800, b" " * 800)

    status, body = raw_request(live_server, head, [chunk, chunk])  # no final chunk ever

    assert status == 413
    assert "1024-byte limit" in json.loads(body)["error"]["message"]
    assert agent.fetches == []


def test_a_body_of_exactly_the_cap_is_accepted(client: httpx.Client, agent: FakeAgent) -> None:
    agent.urls = ["https://git.example.com/acme/ops.git"]
    body = payload("generic_push").strip().ljust(SMALL_CAP)  # JSON allows trailing blanks

    answer = client.post("/hooks/generic", content=body,
                         headers=signed_headers("generic", body))

    assert len(body) == SMALL_CAP
    assert answer.json() == {"status": "accepted"}


def test_a_sender_hanging_up_mid_body_leaves_the_server_serving(
        live_server: str, client: httpx.Client, agent: FakeAgent,
        metrics: AgentMetrics) -> None:
    head = (b"POST /hooks/generic HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"rep\r\n")
    host, port = parse_listen(live_server.removeprefix("http://"))
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(head)

    deadline = time.monotonic() + 5
    while not deliveries_counted(metrics, "generic", "bad_request") and \
            time.monotonic() < deadline:
        time.sleep(0.01)
    assert deliveries_counted(metrics, "generic", "bad_request") == 1
    assert client.get("/healthz").status_code == 200
    assert agent.fetches == []


def test_malformed_json_is_a_bad_request_and_the_server_keeps_serving(
        live_server: str, metrics: AgentMetrics) -> None:
    body = b'{"ref": "refs/heads/main", '
    with httpx.Client(base_url=live_server, timeout=5) as http:
        refused = http.post("/hooks/github", content=body,
                            headers=signed_headers("github", body))
        after = http.get("/healthz")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bad_request"
    assert after.status_code == 200
    assert deliveries_counted(metrics, "github", "bad_request") == 1


# -- probes and status ---------------------------------------------------------

def test_readyz_is_503_until_the_agent_is_ready(client: httpx.Client, agent: FakeAgent) -> None:
    agent.is_ready = False
    not_ready = client.get("/readyz")
    agent.is_ready = True

    assert not_ready.status_code == 503
    assert not_ready.json()["error"]["code"] == "not_ready"
    assert client.get("/readyz").status_code == 200


def test_metrics_count_the_apps_by_state_at_scrape_time(client: httpx.Client,
                                                        agent: FakeAgent) -> None:
    agent.statuses = [AppStatus("web", sync="synced", health="healthy"),
                      AppStatus("db", sync="synced", health="healthy")]
    before = client.get("/metrics").text
    agent.statuses[1] = AppStatus("db", sync="error", health="degraded")
    after = client.get("/metrics").text

    assert 'gitward_apps{health="healthy",sync="synced"} 2.0' in before
    assert 'gitward_apps{health="healthy",sync="synced"} 1.0' in after
    assert 'gitward_apps{health="degraded",sync="error"} 1.0' in after


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: httpx.Client) -> None:
    missing = client.get("/nope")
    wrong_method = client.get("/hooks/github")

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


# -- webhooks --------------------------------------------------------------------

EVERY_FORGE = [
    ("github", "github_push", "https://github.com/acme/ops.git"),
    ("gitlab", "gitlab_push", "git@gitlab.example.com:acme/ops.git"),
    ("gitea", "gitea_push", "https://forgejo.example.com/acme/ops"),
    ("bitbucket", "bitbucket_cloud_push", "https://bitbucket.org/acme/ops.git"),
    ("generic", "generic_push", "ssh://git@git.example.com/acme/ops"),
]


@pytest.mark.parametrize(("provider", "fixture", "managed"), EVERY_FORGE,
                         ids=[case[0] for case in EVERY_FORGE])
def test_each_forge_push_for_a_managed_repository_asks_for_a_fetch(
        client: httpx.Client, agent: FakeAgent, metrics: AgentMetrics, provider: str,
        fixture: str, managed: str) -> None:
    agent.urls = [managed]

    answer = post_hook(client, provider, fixture)

    assert (answer.status_code, answer.json()) == (202, {"status": "accepted"})
    assert len(agent.fetches) == 1 and agent.fetches[0].startswith(f"webhook {provider} ")
    assert deliveries_counted(metrics, provider, "accepted") == 1


def test_a_push_for_another_repository_is_ignored_without_a_fetch(
        client: httpx.Client, agent: FakeAgent, metrics: AgentMetrics) -> None:
    agent.urls = ["https://github.com/acme/other.git"]

    answer = post_hook(client, "github", "github_push")

    assert answer.status_code == 202
    assert answer.json()["status"] == "ignored: unknown repository"
    assert agent.fetches == []
    assert deliveries_counted(metrics, "github", "unknown_repository") == 1


def test_an_event_that_is_not_a_push_is_ignored(client: httpx.Client, agent: FakeAgent,
                                                metrics: AgentMetrics) -> None:
    answer = post_hook(client, "github", "github_push", event="ping")

    assert answer.status_code == 202 and answer.json()["status"] == "ignored"
    assert agent.fetches == []
    assert deliveries_counted(metrics, "github", "ignored") == 1


def test_a_wrong_signature_is_401_and_asks_for_nothing(client: httpx.Client, agent: FakeAgent,
                                                       metrics: AgentMetrics) -> None:
    answer = post_hook(client, "gitea", "gitea_push", secret="guess")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert SECRET not in answer.text and "guess" not in answer.text
    assert agent.fetches == []
    assert deliveries_counted(metrics, "gitea", "unauthorized") == 1


def test_without_a_secret_configured_every_webhook_is_401(agent: FakeAgent,
                                                          metrics: AgentMetrics) -> None:
    with running(create_app(agent, metrics, webhook_secret=None)) as base_url, \
            httpx.Client(base_url=base_url, timeout=5) as unconfigured:
        answer = post_hook(unconfigured, "github", "github_push")

    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("webhook secret not configured")
    assert agent.fetches == []


def test_an_unknown_provider_is_404_and_not_counted(client: httpx.Client,
                                                   metrics: AgentMetrics) -> None:
    answer = client.post("/hooks/svn", content=b"{}")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert b'provider="svn"' not in metrics.render()[0]


def test_the_same_delivery_id_from_two_providers_is_two_deliveries(
        client: httpx.Client, agent: FakeAgent) -> None:
    agent.urls = ["https://github.com/acme/ops.git", "https://forgejo.example.com/acme/ops"]

    post_hook(client, "github", "github_push", delivery_id="42")
    post_hook(client, "gitea", "gitea_push", delivery_id="42")

    assert agent.fetches == ["webhook github 42", "webhook gitea 42"]


def test_a_delivery_whose_fetch_could_not_be_asked_for_can_be_retried(
        client: httpx.Client, agent: FakeAgent) -> None:
    agent.fail_fetch = True
    failed = post_hook(client, "github", "github_push")
    agent.fail_fetch = False
    retried = post_hook(client, "github", "github_push")

    assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal"
    assert retried.json() == {"status": "accepted"}
    assert agent.fetches == ["webhook github delivery-1"]


def test_a_non_numeric_content_length_is_a_bad_request(live_server: str,
                                                       agent: FakeAgent) -> None:
    head = (b"POST /hooks/github HTTP/1.1\r\nHost: agent\r\nContent-Length: lots\r\n"
            b"Connection: close\r\n\r\n{}")

    status, _ = raw_request(live_server, head, [])

    assert status == 400
    assert agent.fetches == []


@pytest.mark.parametrize(("listen", "expected"), [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:9000", ("::1", 9000)),
    (":8080", ("0.0.0.0", 8080)),
])
def test_listen_addresses_are_host_and_port(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8080", "localhost:http", "host:70000", ""])
def test_a_bad_listen_address_says_what_to_write(listen: str) -> None:
    with pytest.raises(ValueError, match="must be host:port"):
        parse_listen(listen)
