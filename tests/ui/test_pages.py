"""The pages over HTTP, against a real uvicorn server and a FakeAgent."""

from __future__ import annotations

import re

import httpx

from tests.ui.conftest import LiveServer
from tests.ui.fakes import REV1, REV2, REV3


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_pages_need_a_login_and_come_back_after_it(server: LiveServer) -> None:
    with server.client() as anonymous:
        answer = anonymous.get("/apps/web?x=1")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fapps%2Fweb%3Fx%3D1"
        form = anonymous.get("/login", params={"next": "/apps/web"})
        assert 'action="/login"' in form.text and 'value="/apps/web"' in form.text
        assert anonymous.get("/login", params={"next": "//evil.example"}).text.count(
            'name="next" value="/"') == 1
        assert anonymous.get("/fragments/apps").status_code == 401
        assert "Wrong user name or password" in anonymous.get("/login?error=1").text


def test_overview_shows_each_app_with_revision_subject_author_and_counts(
        server: LiveServer) -> None:
    with server.client("viewer") as client:
        page = client.get("/")
    assert page.status_code == 200
    for app in ("db", "edge", "web", "worker"):
        assert f'data-app="{app}"' in page.text
    assert f"<code>{REV2[:7]}</code> Bump nginx workers" in page.text
    assert "Linus Torvalds" in page.text
    assert re.search(r"out of sync</span> <b>1</b>", page.text)
    assert "probe &lt;b&gt;failed&lt;/b&gt;: exit 3" in page.text    # escaped, never markup
    assert "<b>failed</b>" not in page.text


def test_overview_filters_on_the_server_too(server: LiveServer) -> None:
    with server.client("viewer") as client:
        page = client.get("/", params={"health": "degraded"})
        assert 'data-app="worker"' in page.text and 'data-app="web"' not in page.text
        page = client.get("/", params={"q": "EDG"})
        assert 'data-app="edge"' in page.text and 'data-app="db"' not in page.text


def test_app_page_shows_resources_in_order_the_diff_the_graph_and_history(
        server: LiveServer) -> None:
    with server.client("admin") as client:
        page = client.get("/apps/web").text
    resources = page[page.index('id="res-h"'):page.index('id="graph-h"')]
    order = re.findall(r"</span><strong>([^<]+)</strong>", resources)
    assert order == ["nginx-conf", "app-env", "motd", "web", "old-banner"]
    assert '<span class="l-add">+  gzip on;</span>' in page
    assert '<span class="l-del">-  server { listen 80; }</span>' in page
    assert "&lt;redacted:9f8e7d6c&gt;" in page
    assert '<svg class="depgraph"' in page and 'class="node health-degraded"' in page
    assert 'href="/apps/web/runs/2#commit"' in page and "Add web app" in page
    for verb in ("sync", "refresh", "suspend"):
        assert f'action="/apps/web/{verb}"' in page
    assert 'href="/apps/web/rollback"' in page


def test_unknown_app_and_run_are_404_pages(server: LiveServer) -> None:
    with server.client("viewer") as client:
        answer = client.get("/apps/nope", headers={"Accept": "text/html"})
        assert answer.status_code == 404 and "No such app" in answer.text
        assert client.get("/apps/web/runs/999").status_code == 404
        assert client.get("/apps/db/runs/1").status_code == 404     # run 1 is web's


def test_run_page_shows_its_commit_and_results(server: LiveServer) -> None:
    with server.client("viewer") as client:
        page = client.get("/apps/web/runs/2").text
    assert REV2 in page and "Linus Torvalds" in page
    assert "File/nginx-conf@local" in page
    assert '<span class="l-add">+worker_processes 4;</span>' in page


def test_sync_needs_the_csrf_token_and_shows_its_result(server: LiveServer) -> None:
    with server.client("operator") as client:
        page = client.get("/apps/web")
        refused = client.post("/apps/web/sync", data={"csrf_token": "wrong"})
        assert refused.status_code == 403 and "Form expired" in refused.text
        assert len(server.store.history("web")) == 2
        done = client.post("/apps/web/sync", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303 and done.headers["location"] == "/apps/web"
        after = client.get("/apps/web").text
        assert "Sync of web requested" in after
        assert "Sync of web requested" not in client.get("/apps/web").text   # shown once
    runs = server.store.history("web")
    assert len(runs) == 3 and runs[0].revision == REV3 and runs[0].trigger == "api"
    assert f"Run {runs[0].id}</a>" in after and "Nothing to change" in after
    audits = [e for e in server.store.events("web") if e["kind"] == "audit"]
    assert audits[-1]["data"]["who"] == "operator" and audits[-1]["data"]["ok"] is True


def test_a_role_below_the_action_gets_a_403_page_and_no_buttons(server: LiveServer) -> None:
    with server.client("viewer") as viewer:
        page = viewer.get("/apps/web")
        assert 'action="/apps/web/' not in page.text and "/rollback" not in page.text
        refused = viewer.post("/apps/web/sync", data={"csrf_token": csrf_of(page)})
        assert refused.status_code == 403 and "may not sync" in refused.text
    with server.client("operator") as operator:
        page = operator.get("/apps/web")
        assert "/rollback" not in page.text
        assert operator.get("/apps/web/rollback").status_code == 403
        refused = operator.post("/apps/web/rollback",
                                data={"csrf_token": csrf_of(page), "to": REV1})
        assert refused.status_code == 403
    assert len(server.store.history("web")) == 2


def test_rollback_previews_the_diff_then_commits_a_revert(server: LiveServer) -> None:
    with server.client("admin") as client:
        choose = client.get("/apps/web/rollback").text
        assert f'value="{REV1}"' in choose and f'value="{REV2}"' not in choose  # REV2 is live
        preview = client.get("/apps/web/rollback", params={"to": REV1[:7]})
        assert '<span class="l-add">+worker_processes 2;</span>' in preview.text
        assert '<span class="l-del">-worker_processes 4;</span>' in preview.text
        unknown = client.get("/apps/web/rollback", params={"other": "abc123"}).text
        assert "no record of syncing this revision" in unknown
        done = client.post("/apps/web/rollback", data={
            "csrf_token": csrf_of(preview), "to": REV1, "reason": "too many workers"})
        assert done.status_code == 303
        page = client.get("/apps/web").text
    assert f"Rolled back web to {REV1[:7]} with commit" in page
    assert f"Roll back web to {REV1[:7]}: too many workers" in page


def test_a_failed_action_says_why(server: LiveServer) -> None:
    with server.client("admin") as client:
        page = client.get("/apps/web")
        client.post("/apps/web/rollback", data={"csrf_token": csrf_of(page), "to": "ffff"})
        after = client.get("/apps/web").text
    assert "rollback of web failed: unknown revision" in after and "flash-error" in after


def test_suspend_then_resume(server: LiveServer) -> None:
    with server.client("operator") as client:
        token = csrf_of(client.get("/apps/db"))
        client.post("/apps/db/suspend", data={"csrf_token": token})
        page = client.get("/apps/db").text
        assert 'action="/apps/db/resume"' in page and "suspended" in page
        client.post("/apps/db/resume", data={"csrf_token": token})
        assert 'action="/apps/db/suspend"' in client.get("/apps/db").text
    kinds = [e["kind"] for e in server.store.events("db")]
    assert "suspended" in kinds and "resumed" in kinds


def test_refresh_asks_the_agent_to_fetch(server: LiveServer) -> None:
    with server.client("operator") as client:
        client.post("/apps/web/refresh", data={"csrf_token": csrf_of(client.get("/"))})
    assert server.agent.fetches and "operator" in server.agent.fetches[0]


def test_fragments_carry_the_live_parts(server: LiveServer) -> None:
    with server.client("viewer") as client:
        rows = client.get("/fragments/apps")
        assert rows.headers["cache-control"] == "no-store"
        assert rows.text.count("<tr data-app=") == 4 and "<html" not in rows.text
        assert "Run 2" in client.get("/fragments/apps/web?part=history").text
        assert "out of sync" in client.get("/fragments/apps/web?part=status").text
        assert client.get("/fragments/apps/web?part=../base").status_code == 404


def test_events_and_updates_pages(server: LiveServer) -> None:
    with server.client("viewer") as client:
        events = client.get("/events").text
        assert "live state differs from" in events
        assert "live state differs" in client.get("/events", params={"kind": "drift"}).text
        assert "live state differs" not in client.get("/events", params={"app": "db"}).text
        updates = client.get("/updates").text
        assert "nginx 1.25 → 1.27" in updates
        assert "web-image" in updates and "https://registry.test t/web" in updates


def test_a_forged_flash_cookie_is_ignored(server: LiveServer) -> None:
    with server.client("viewer") as client:
        client.cookies.set("gitward_flash", "W1wib2tcIiwgXCJoaVwiXSJd.0000")
        assert "flash-ok" not in client.get("/").text


def test_static_files_are_served_locally(server: LiveServer) -> None:
    with server.client() as client:
        assert "prefers-color-scheme: dark" in client.get("/static/gitward.css").text
        assert "data-live-src" in client.get("/static/gitward.js").text
        login = client.get("/login").text
    assert not re.search(r'(src|href)="(https?:)?//', login)
