"""Rollback is Git: a commit restoring the app's paths, pushed, then synced."""

from __future__ import annotations

from tests.e2e.conftest import SYSTEM, Env, file_manifest, git


def test_rollback_commits_previous_revision_and_syncs(env: Env) -> None:
    first = env.commit({"gitward.yaml": SYSTEM,
                        "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "v2\n"),
                "apps/web/b.yaml": file_manifest("b", "/srv/b", "new in v2\n")}, "v2")
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/a") == "v2\n"

    done = env.cli("rollback", "web", "--reason", "v2 broke logins", "--output", "json")
    assert done.code == 0, done.stdout + done.stderr
    data = done.json()
    assert data["to"] == first
    head = env.head()
    assert data["commit"] == head
    message = git(env.origin, "log", "-1", "--format=%B", "main")
    assert "Roll back web" in message and "v2 broke logins" in message and first in message
    # The origin's app path is back to v1; the target followed it.
    assert git(env.origin, "show", "main:apps/web/a.yaml") == git(
        env.origin, "show", f"{first}:apps/web/a.yaml")
    assert env.read("/srv/a") == "v1\n"
    assert not env.exists("/srv/b")
    runs = env.history("web")
    assert runs[0]["trigger"] == "rollback" and runs[0]["revision"] == head


def test_rollback_without_earlier_sync_explains(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    env.cli("sync", "web")
    refused = env.cli("rollback", "web")
    assert refused.code == 1 and "--to" in refused.stderr


def test_pin_holds_app_at_revision_until_unpin(env: Env) -> None:
    first = env.commit({"gitward.yaml": SYSTEM,
                        "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    env.cli("sync", "web")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "v2\n")}, "v2")
    env.cli("sync", "web")
    pinned = env.cli("rollback", "web", "--pin", first[:10])
    assert pinned.code == 0, pinned.stderr
    assert env.read("/srv/a") == "v1\n"
    status = env.cli("status", "--output", "json").json()["apps"][0]
    assert status["pinned"] == first
    # A later sync keeps the pin.
    env.cli("sync", "web")
    assert env.read("/srv/a") == "v1\n"
    assert env.store_cli("unpin", "web").code == 0
    env.cli("sync", "web")
    assert env.read("/srv/a") == "v2\n"


def test_rollback_to_a_repository_that_refuses_pushes_suggests_pin(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    env.cli("sync", "web")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "v2\n")}, "v2")
    env.cli("sync", "web")
    hook = env.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'read-only mirror' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = env.head()

    refused = env.cli("rollback", "web")

    assert refused.code == 1
    assert "--pin" in refused.stderr and "Traceback" not in refused.stderr
    assert env.head() == before and env.read("/srv/a") == "v2\n"


def test_rollback_to_an_explicit_revision(env: Env) -> None:
    first = env.commit({"gitward.yaml": SYSTEM,
                        "apps/web/a.yaml": file_manifest("a", "/srv/a", "v1\n")}, "v1")
    for version in ("v2", "v3"):
        env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", f"{version}\n")}, version)
        env.cli("sync", "web")
    done = env.cli("rollback", "web", "--to", first[:8], "--output", "json")
    assert done.code == 0 and done.json()["to"] == first
    assert env.read("/srv/a") == "v1\n"
