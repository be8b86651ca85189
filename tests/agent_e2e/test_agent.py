"""The agent converges pushes, answers webhooks, heals drift, retries, holds
dependents, survives SIGKILL and bad requests, and never prunes on errors."""

from __future__ import annotations

import http.server
import itertools
import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent_e2e.conftest import AgentProcess, wait_for
from tests.e2e.conftest import SYSTEM, Env, file_manifest


def _command(name: str, script: str, wave: int = 0) -> str:
    return (f"apiVersion: gitward/v1\nkind: Command\nmetadata:\n  name: {name}\n"
            f"  annotations: {{gitward/wave: \"{wave}\"}}\nspec:\n  command: '{script}'\n")


def test_push_is_converged_within_a_poll_interval(env: Env, agent: AgentProcess) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/a.yaml": file_manifest("a", "/srv/a", "1\n")})
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/a"), what="first converge")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "2\n")}, "Two")
    pushed = time.monotonic()
    wait_for(lambda: env.read("/srv/a") == "2\n", timeout=10, what="push converged")
    assert time.monotonic() - pushed < 5
    assert wait_for(lambda: agent.apps()["web"]["sync"] == "synced")
    kinds = {e["kind"] for e in agent.events()}
    assert {"fetched", "synced"} <= kinds


def test_signed_webhook_converges_without_waiting_for_the_poll(env: Env,
                                                               agent: AgentProcess) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/a.yaml": file_manifest("a", "/srv/a", "1\n")})
    agent.start(poll="1h")
    wait_for(lambda: env.exists("/srv/a"), what="first converge")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "hooked\n")}, "Hooked")
    answer = agent.signed_push("delivery-1")
    assert answer.status_code == 202 and answer.json()["status"] == "accepted"
    wait_for(lambda: env.read("/srv/a") == "hooked\n", timeout=10, what="webhook converge")
    again = agent.signed_push("delivery-1")
    assert again.json()["status"] == "duplicate"


def test_bad_webhooks_are_refused_and_the_agent_stays_up(env: Env, agent: AgentProcess) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/a.yaml": file_manifest("a", "/srv/a", "1\n")})
    agent.start(poll="1h")
    body = b'{"repository": {"clone_url": "x"}}'
    unsigned = agent.hook("github", body, {"X-GitHub-Event": "push"})
    assert unsigned.status_code == 401
    wrong = agent.hook("github", body, {"X-GitHub-Event": "push",
                                         "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert wrong.status_code == 401
    huge = agent.hook("generic", b"x" * (2 * 1024 * 1024), {})
    assert huge.status_code == 413
    import hashlib
    import hmac

    from tests.agent_e2e.conftest import SECRET

    garbage = b"{not json"
    signature = hmac.new(SECRET.encode(), garbage, hashlib.sha256).hexdigest()
    malformed = agent.hook("generic", garbage, {"X-Gitward-Signature": f"sha256={signature}"})
    assert malformed.status_code == 400
    other = json.dumps({"repository": "https://git.example.com/someone/else.git"}).encode()
    signature = hmac.new(SECRET.encode(), other, hashlib.sha256).hexdigest()
    ignored = agent.hook("generic", other, {"X-Gitward-Signature": f"sha256={signature}"})
    assert ignored.status_code == 202 and "ignored" in ignored.json()["status"]
    assert agent.alive()
    assert httpx.get(f"{agent.url}/healthz").status_code == 200
    metrics = httpx.get(f"{agent.url}/metrics").text
    assert "gitward_webhook_deliveries_total" in metrics and "unauthorized" in metrics


def test_drift_is_reported_and_healed_with_self_heal(env: Env, agent: AgentProcess) -> None:
    system = SYSTEM + "    sync: {interval: 1s}\n  healed:\n    path: apps/healed\n" \
        "    sync: {interval: 1s, self_heal: true}\n"
    env.commit({"gitward.yaml": system,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "git\n"),
                "apps/healed/b.yaml": file_manifest("b", "/srv/b", "git\n")})
    agent.start(poll="1h")
    wait_for(lambda: env.exists("/srv/a") and env.exists("/srv/b"), what="converge")
    (env.target / "srv/a").write_text("by hand\n")
    (env.target / "srv/b").write_text("by hand\n")
    wait_for(lambda: agent.apps()["web"]["sync"] == "out_of_sync", what="drift reported")
    assert env.read("/srv/a") == "by hand\n", "without self_heal drift is only reported"
    wait_for(lambda: env.read("/srv/b") == "git\n", what="self-heal")
    triggers = [r["trigger"] for r in env.history("healed")]
    assert "self_heal" in triggers
    drift = [e for e in agent.events("web") if e["kind"] == "drift"]
    assert drift and "File/a@local" in drift[0]["message"]


def test_dependency_holds_its_dependent_until_healthy(env: Env, agent: AgentProcess,
                                                     tmp_path: Path) -> None:
    flag = tmp_path / "db-up"
    system = ("apiVersion: gitward/v1\nkind: System\napps:\n"
              "  db:\n    path: apps/db\n"
              f"    probe: {{command: 'test -e {flag}', retries: 0, timeout: 2s}}\n"
              "  web:\n    path: apps/web\n    depends_on: [db]\n")
    env.commit({"gitward.yaml": system,
                "apps/db/d.yaml": file_manifest("d", "/srv/db", "db\n"),
                "apps/web/w.yaml": file_manifest("w", "/srv/web", "web\n")})
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/db"), what="db converged")
    wait_for(lambda: agent.apps()["web"]["sync"] == "held", what="web held")
    assert "db" in agent.apps()["web"]["message"] and not env.exists("/srv/web")
    flag.write_text("up")
    env.commit({"apps/db/d.yaml": file_manifest("d", "/srv/db", "db v2\n")}, "db v2")
    wait_for(lambda: env.exists("/srv/web"), timeout=20, what="web released")
    held = [e for e in agent.events("web") if e["kind"] == "held"]
    assert held and "db" in held[0]["message"]


def test_retries_back_off_as_configured(env: Env, agent: AgentProcess) -> None:
    system = SYSTEM + "    sync: {retry: {limit: 3, backoff: 1s, factor: 2, max: 10s}}\n"
    env.commit({"gitward.yaml": system, "apps/web/c.yaml": _command("boom", "exit 4")})
    agent.start(poll="1h")
    wait_for(lambda: len(env.history("web")) >= 4, timeout=30, what="three retries")
    runs = list(reversed(env.history("web")))[:4]
    assert [r["trigger"] for r in runs] == ["auto", "retry", "retry", "retry"]
    gaps = [b["started"] - a["finished"] for a, b in itertools.pairwise(runs)]
    assert 0.8 < gaps[0] < 2.5 and 1.8 < gaps[1] < 3.5 and 3.6 < gaps[2] < 6.0, gaps
    time.sleep(1.5)
    assert len(env.history("web")) == 4, "no retries past the limit"
    assert any(e["kind"] == "retry-exhausted" for e in agent.events("web"))


def test_sigkill_mid_sync_then_restart_converges(env: Env, agent: AgentProcess,
                                                 tmp_path: Path) -> None:
    started, slow = tmp_path / "started", tmp_path / "slow"
    slow.write_text("1")
    manifests = "---\n".join([
        file_manifest("early", "/srv/early", "e\n"),
        _command("mark", f"touch {started}", wave=1),
        _command("slow", f"if [ -e {slow} ]; then sleep 60; fi; true", wave=2),
        file_manifest("late", "/srv/late", "l\n").replace(
            "  name: late\n", "  name: late\n  annotations: {gitward/wave: \"3\"}\n")])
    env.commit({"gitward.yaml": SYSTEM, "apps/web/all.yaml": manifests})
    agent.start(poll="1h")
    wait_for(started.exists, what="slow command started")
    time.sleep(0.3)
    agent.terminate(signal.SIGKILL)
    assert [r["outcome"] for r in env.history("web")] == ["running"]
    slow.unlink()
    restarted = AgentProcess(env, port=agent.port, token=agent.token).start(poll="1h")
    try:
        wait_for(lambda: env.exists("/srv/late"), what="converged after restart")
        # The file lands a moment before the run is recorded as finished.
        outcomes = wait_for(lambda: (o := [r["outcome"] for r in env.history("web")])[0]
                            == "succeeded" and o, what="the new run recorded")
        assert outcomes[-1] == "interrupted"
    finally:
        restarted.terminate()


def test_sigterm_finishes_the_current_action_and_records(env: Env, agent: AgentProcess,
                                                         tmp_path: Path) -> None:
    started = tmp_path / "started"
    manifests = "---\n".join([
        _command("slow", f"touch {started}; sleep 2; echo done > {tmp_path}/finished"),
        file_manifest("late", "/srv/late", "l\n").replace(
            "  name: late\n", "  name: late\n  annotations: {gitward/wave: \"1\"}\n")])
    env.commit({"gitward.yaml": SYSTEM, "apps/web/all.yaml": manifests})
    agent.start(poll="1h")
    wait_for(started.exists, what="slow command started")
    code = agent.terminate(signal.SIGTERM)
    assert code == 0
    assert (tmp_path / "finished").exists(), "the action in hand must finish"
    assert not env.exists("/srv/late")
    assert env.history("web")[0]["outcome"] == "interrupted"


@pytest.fixture
def failing_receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:hunter2@127.0.0.1:{server.server_address[1]}/notify?token=abc", received
    server.shutdown()
    server.server_close()


def test_failing_notification_receiver_does_not_stop_syncs(
        env: Env, agent: AgentProcess, failing_receiver: tuple[str, list[bytes]]) -> None:
    url, received = failing_receiver
    env.commit({"gitward.yaml": SYSTEM, "apps/web/c.yaml": _command("boom", "exit 1")})
    agent.start("--notify", url, poll="1s")
    wait_for(lambda: received, what="a notification attempt")
    env.commit({"apps/web/c.yaml": file_manifest("a", "/srv/a", "fixed\n")}, "Fix")
    wait_for(lambda: env.exists("/srv/a"), timeout=15, what="sync despite failing receiver")
    assert json.loads(received[0])["event"] == "sync_failed"
    assert "hunter2" not in agent.log and "token=abc" not in agent.log


def test_unreachable_repository_keeps_last_state_and_prunes_nothing(
        env: Env, agent: AgentProcess) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/a.yaml": file_manifest("a", "/srv/a", "1\n")})
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/a"), what="converge")
    before = env.snapshot()
    shutil.move(env.origin, env.tmp / "moved-away.git")
    wait_for(lambda: any(e["kind"] == "fetch-failed" for e in agent.events()),
             what="fetch failure recorded")
    time.sleep(1.5)
    assert agent.alive() and env.snapshot() == before
    assert httpx.get(f"{agent.url}/healthz").status_code == 200


def test_a_commit_changes_policy_without_a_restart(env: Env, agent: AgentProcess) -> None:
    env.commit({"gitward.yaml": SYSTEM + "    sync: {interval: 1s}\n",
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "git\n")})
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/a"), what="converge")
    (env.target / "srv/a").write_text("by hand\n")
    wait_for(lambda: agent.apps()["web"]["sync"] == "out_of_sync", what="drift reported")
    env.commit({"gitward.yaml": SYSTEM + "    sync: {interval: 1s, self_heal: true}\n"},
               "Turn on self-heal")
    wait_for(lambda: env.read("/srv/a") == "git\n", timeout=15, what="healed after the commit")
    assert agent.apps()["web"]["sync"] == "synced"


def test_one_broken_app_does_not_hold_the_others(env: Env, agent: AgentProcess) -> None:
    system = SYSTEM + "  api:\n    path: apps/api\n"
    env.commit({"gitward.yaml": system,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "1\n"),
                "apps/api/b.yaml": file_manifest("b", "/srv/b", "1\n")})
    agent.start(poll="1s")
    wait_for(lambda: env.exists("/srv/a") and env.exists("/srv/b"), what="converge")
    env.commit({"apps/api/b.yaml": "kind: [\n",
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "2\n")}, "Break api")
    wait_for(lambda: env.read("/srv/a") == "2\n", what="web still converges")
    api = wait_for(lambda: (s := agent.apps()["api"])["sync"] == "error" and s)
    assert "apps/api/b.yaml" in api["message"]
    assert env.read("/srv/b") == "1\n", "a broken app keeps its last good state"


def test_agent_runs_the_updater_and_deploys_its_commit(env: Env, agent: AgentProcess,
                                                       tmp_path: Path) -> None:
    from tests.e2e.conftest import git

    releases = tmp_path / "releases"
    git(tmp_path, "init", "-q", "-b", "main", str(releases))
    git(releases, "commit", "-q", "--allow-empty", "-m", "first")
    for tag in ("1.0.0", "1.1.0", "2.0.0"):
        git(releases, "tag", tag)
    policy = ("---\napiVersion: gitward/v1\nkind: UpdatePolicy\nmetadata: {name: app-version}\n"
              f"spec:\n  source: {{git: {{url: \"{releases}\"}}}}\n"
              "  select: {semver: \"<2\"}\n")
    manifest = ("apiVersion: gitward/v1\nkind: File\nmetadata: {name: version}\nspec:\n"
                "  path: /srv/version\n  content: \"1.0.0\"  # gitward:update app-version\n")
    env.commit({"gitward.yaml": SYSTEM + policy, "apps/web/version.yaml": manifest}, "Pin 1.0.0")
    agent.start(poll="1h")
    wait_for(lambda: env.exists("/srv/version") and env.read("/srv/version") == "1.1.0",
             timeout=30, what="the updater's bump deployed")
    subject = git(env.origin, "log", "-1", "--format=%s", "main")
    assert "1.1.0" in subject
    answer = agent.api("/api/v1/updates").json()
    assert any(u["kind"] == "update-committed" for u in answer["updates"])
    policy = answer["policies"][0]
    assert policy["name"] == "app-version" and policy["source"] == "git"
    assert policy["last"] is not None
