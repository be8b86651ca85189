"""Every endpoint of /api/v1 for every kind of caller, and what each answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gitward.core.errors import GitwardError
from gitward.core.model import Health, Plan

from .conftest import Served
from .fakes import HEAD, PREVIOUS

# (method, path, body, least role; None = read)
READS: list[tuple[str, str]] = [
    ("GET", "/api/v1/apps"), ("GET", "/api/v1/apps/web"), ("GET", "/api/v1/apps/web/plan"),
    ("GET", "/api/v1/apps/web/runs"), ("GET", "/api/v1/runs/1"), ("GET", "/api/v1/events"),
    ("GET", "/api/v1/sources"), ("GET", "/api/v1/updates"),
]
ACTIONS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("POST", "/api/v1/apps/web/sync", {"resource": "File/motd"}, "operator", 202),
    ("POST", "/api/v1/refresh", None, "operator", 202),
    ("POST", "/api/v1/apps/web/suspend", None, "operator", 200),
    ("POST", "/api/v1/apps/web/resume", None, "operator", 200),
    ("POST", "/api/v1/apps/web/rollback", {"reason": "bad deploy"}, "admin", 200),
    ("POST", "/api/v1/apps/web/pin", {"revision": PREVIOUS}, "admin", 200),
    ("DELETE", "/api/v1/apps/web/pin", None, "admin", 200),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}
CALLERS = ["anonymous", "viewer", "operator", "admin", "scoped", "expired", "revoked"]


@pytest.fixture
def with_a_run(served: Served) -> Served:
    run = served.store.begin("web", HEAD, Plan(HEAD), subject="Say hello")
    served.store.finish(run, "succeeded", Health.healthy)
    return served


def call(served: Served, who: str, method: str, path: str,
         body: dict[str, Any] | None = None) -> httpx.Response:
    with served.client(None if who == "anonymous" else who) as client:
        return client.request(method, path, json=body)


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path"), READS, ids=[r[1] for r in READS])
def test_reads_need_a_valid_credential_and_a_scope_that_covers_the_app(
        with_a_run: Served, who: str, method: str, path: str) -> None:
    answer = call(with_a_run, who, method, path)

    if who in ("anonymous", "expired", "revoked"):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"]["code"] == "unauthorized"
    elif who == "scoped" and ("/web" in path or path.startswith("/api/v1/runs")):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
    else:
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "role", "status"), ACTIONS,
                         ids=[f"{a[0]} {a[1]}" for a in ACTIONS])
def test_actions_need_their_role_and_only_allowed_ones_reach_the_agent(
        served: Served, who: str, method: str, path: str, body: dict[str, Any] | None,
        role: str, status: int) -> None:
    answer = call(served, who, method, path, body)

    if who in ("anonymous", "expired", "revoked"):
        expected = 401
    elif who == "scoped":  # an admin of app db only
        expected = status if path == "/api/v1/refresh" else 403
    else:
        expected = status if RANK[who] >= RANK[role] else 403
    assert answer.status_code == expected, answer.text
    assert bool(served.agent.calls) == (expected < 400)
    if expected == 403:
        assert answer.json()["error"]["code"] == "forbidden"


def test_the_app_list_filters_and_a_scoped_caller_sees_only_its_apps(served: Served) -> None:
    with served.client("viewer") as client:
        every = client.get("/api/v1/apps").json()["apps"]
        synced = client.get("/api/v1/apps", params={"sync": "synced"}).json()["apps"]
        degraded = client.get("/api/v1/apps", params={"health": "degraded"}).json()["apps"]
        named = client.get("/api/v1/apps", params={"q": "WEB"}).json()["apps"]
    with served.client("scoped") as client:
        scoped = client.get("/api/v1/apps").json()["apps"]

    assert [a["app"] for a in every] == ["web", "db", "web-eu"]
    assert every[0]["sync"] == "out_of_sync" and every[0]["head"] == HEAD
    assert [a["app"] for a in synced] == ["db", "web-eu"]
    assert [a["app"] for a in degraded] == ["db"]
    assert [a["app"] for a in named] == ["web", "web-eu"]
    assert [a["app"] for a in scoped] == ["db"]


def test_an_app_shows_its_resources_spec_pin_and_commit(served: Served) -> None:
    served.store.pin("web", PREVIOUS, "incident 42")
    with served.client("viewer") as client:
        app = client.get("/api/v1/apps/web").json()

    assert app["status"]["app"] == "web"
    assert (app["pinned"], app["pin_reason"], app["suspended"]) == (PREVIOUS, "incident 42",
                                                                    False)
    assert app["spec"]["path"] == "apps/web" and app["depends_on"] == ["db"]
    assert app["revision"] == HEAD and app["commit"]["author"] == "Ada <ada@example.com>"
    assert {r["key"]: (r["action"], r["health"], r["wave"], r["origin"])
            for r in app["resources"]} == {
        "File/issue@local": ("noop", "healthy", 0, None),
        "File/motd@local": ("update", "degraded", 1, "apps/web/motd.yaml:3")}


def test_an_app_whose_plan_fails_still_shows_with_the_reason(served: Served) -> None:
    with served.client("viewer") as client:
        app = client.get("/api/v1/apps/db").json()
        plan = client.get("/api/v1/apps/db/plan")

    assert app["resources"] == [] and "spec.name" in app["plan_error"]
    assert plan.status_code == 409 and "spec.name" in plan.json()["error"]["message"]


def test_the_plan_lists_pending_changes_field_by_field(served: Served) -> None:
    with served.client("viewer") as client:
        plan = client.get("/api/v1/apps/web/plan").json()

    assert (plan["revision"], plan["in_sync"]) == (HEAD, False)
    assert [(c["key"], c["action"]) for c in plan["changes"]] == [("File/motd@local", "update")]
    assert plan["changes"][0]["fields"] == [
        {"op": "change", "path": "spec.content", "old": "old\n", "new": "hello\n"}]


def test_runs_list_newest_first_and_a_run_shows_its_results(with_a_run: Served) -> None:
    with with_a_run.client("viewer") as client:
        runs = client.get("/api/v1/apps/web/runs", params={"limit": 5}).json()["runs"]
        run = client.get(f"/api/v1/runs/{runs[0]['id']}").json()
        missing = client.get("/api/v1/runs/999")

    assert [(r["app"], r["outcome"]) for r in runs] == [("web", "succeeded")]
    assert run["results"] == [] and run["revision"] == HEAD
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/apps/nope", "/api/v1/apps/nope/plan",
                                  "/api/v1/apps/nope/runs"])
def test_an_unknown_app_is_404_naming_it(served: Served, path: str) -> None:
    with served.client("admin") as client:
        answer = client.get(path)
        action = client.post("/api/v1/apps/nope/sync")

    for response in (answer, action):
        assert response.status_code == 404
        assert response.json()["error"] == {"code": "not_found",
                                            "message": "no app named 'nope'; GET /api/v1/apps "
                                                       "lists them"}
    assert served.agent.calls == []


def test_sources_and_updates_come_from_the_agent(served: Served) -> None:
    with served.client("viewer") as client:
        sources = client.get("/api/v1/sources").json()["sources"]
        updates = client.get("/api/v1/updates").json()["updates"]

    assert sources[0]["url"] == "https://git.example.com/ops.git"
    assert sources[0]["revision"] == HEAD
    assert updates[0]["kind"] == "update-committed"


def test_actions_reach_the_agent_with_who_asked(served: Served) -> None:
    with served.client("admin") as client:
        client.post("/api/v1/apps/web/sync", json={"revision": PREVIOUS})
        rollback = client.post("/api/v1/apps/web/rollback", json={"to": PREVIOUS}).json()
        pinned = client.post("/api/v1/apps/web/pin", json={"revision": PREVIOUS}).json()
        unpinned = client.delete("/api/v1/apps/web/pin").json()
        suspended = client.post("/api/v1/apps/web/suspend").json()
        detail = client.get("/api/v1/apps/web").json()
        resumed = client.post("/api/v1/apps/web/resume").json()
        client.post("/api/v1/refresh")

    assert served.agent.calls[0] == ("sync", "web", "token:admin", "", PREVIOUS)
    assert rollback["to_revision"] == PREVIOUS and rollback["commit"].startswith("9e8d")
    assert (pinned["pinned"], unpinned["pinned"]) == (PREVIOUS, None)
    assert (suspended["suspended"], detail["suspended"], resumed["suspended"]) == (
        True, True, False)
    assert served.agent.fetches == ["refresh asked by token:admin"]


def test_every_action_is_audited_with_who_what_and_whether_it_was_allowed(
        served: Served) -> None:
    with served.client("operator") as client:
        client.post("/api/v1/apps/web/sync")
        client.post("/api/v1/apps/web/rollback")

    audits = served.audits()
    assert [(e["app"], e["data"]["who"], e["data"]["action"], e["data"]["ok"],
             e["data"]["via"], e["data"]["ip"]) for e in audits] == [
        ("web", "token:operator", "sync", True, "token", "127.0.0.1"),
        ("web", "token:operator", "rollback", False, "token", "127.0.0.1")]
    assert audits[0]["message"] == "token:operator sync web"
    assert all(e["at"] > 0 for e in audits)


def test_an_action_the_agent_refuses_is_409_with_its_message_and_audited(
        served: Served) -> None:
    served.agent.refuse = GitwardError("app web is pinned at 1b2c3d4e; unpin it first")
    with served.client("operator") as client:
        answer = client.post("/api/v1/apps/web/sync")

    assert answer.status_code == 409
    assert answer.json()["error"] == {"code": "conflict",
                                      "message": "app web is pinned at 1b2c3d4e; unpin it first"}
    assert served.audits()[-1]["data"]["ok"] is False


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/v1/apps/web/sync", {"revision": "not hex"}, "body.revision"),
    ("POST", "/api/v1/apps/web/sync", {"resource": "motd"}, "body.resource"),
    ("POST", "/api/v1/apps/web/sync", {"force": True}, "body.force"),
    ("POST", "/api/v1/apps/web/pin", {}, "body.revision"),
    ("GET", "/api/v1/apps/web/runs?limit=0", None, "query.limit"),
    ("GET", "/api/v1/apps?sync=sideways", None, "query.sync"),
    ("GET", "/api/v1/runs/abc", None, "path.run_id"),
])
def test_invalid_input_is_422_naming_the_field(served: Served, method: str, path: str,
                                               body: dict[str, Any] | None, field: str) -> None:
    with served.client("admin") as client:
        answer = client.request(method, path, json=body)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid" and error["message"].startswith(f"{field}: ")
    assert served.agent.calls == []


def test_a_body_that_is_no_json_is_422_not_500(served: Served) -> None:
    with served.client("admin") as client:
        answer = client.post("/api/v1/apps/web/sync", content=b"{nope",
                             headers={"Content-Type": "application/json"})

    assert answer.status_code == 422


def test_the_openapi_document_describes_the_api(served: Served) -> None:
    document = httpx.get(f"{served.url}/api/v1/openapi.json").json()

    assert {"/api/v1/apps", "/api/v1/apps/{app}/sync", "/api/v1/events/stream"} <= set(
        document["paths"])
    assert "/hooks/{provider}" not in document["paths"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    sync = document["paths"]["/api/v1/apps/{app}/sync"]["post"]
    assert {"202", "401", "403", "404", "409", "422"} <= set(sync["responses"])


def test_the_agent_routes_stay_open_and_webhooks_keep_their_own_auth(served: Served) -> None:
    assert httpx.get(f"{served.url}/healthz").status_code == 200
    assert httpx.get(f"{served.url}/readyz").status_code == 200
    assert httpx.get(f"{served.url}/metrics").status_code == 200
    unsigned = httpx.post(f"{served.url}/hooks/github", content=b"{}",
                          headers={"X-GitHub-Event": "push"})
    assert unsigned.status_code == 401  # HMAC, not a token
