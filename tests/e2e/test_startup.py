"""What a one-shot `gitward sync` loads: a run that finds nothing new must not pay
for the libraries only a change needs (libgit2, YAML, Jinja2, pydantic, SQLAlchemy), and
must still notice drift and new commits. A first sync, once the user's validator
cache holds what an earlier one built, validates without importing pydantic."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import SYSTEM, Env, file_manifest, sync_loading


def test_a_noop_sync_loads_none_of_the_heavy_libraries(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    first, loaded = sync_loading(env)
    assert first["outcome"] == "succeeded" and "yaml" in loaded and "pydantic" in loaded
    assert "pygit2" not in loaded   # a one-shot command reads Git through `git cat-file`
    again, loaded = sync_loading(env)
    assert again["in_sync"] is True and again["outcome"] == "succeeded"
    assert loaded == []


def test_drift_and_a_new_commit_are_still_seen_after_a_cached_noop(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    sync_loading(env)
    sync_loading(env)
    (env.target / "etc/motd").write_text("changed by hand\n")
    healed, loaded = sync_loading(env)
    assert healed["counts"] == {"created": 0, "updated": 1, "deleted": 0, "unchanged": 0,
                                "failed": 0, "skipped": 0}
    # Drift takes the full sync, which still reads nothing from Git at a known commit.
    assert env.read("/etc/motd") == "hello\n" and "pygit2" not in loaded and "yaml" not in loaded
    assert "pydantic" not in loaded   # providers read and apply without their spec models
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "second\n")})
    changed, loaded = sync_loading(env)
    assert changed["revision"] == env.head() and env.read("/etc/motd") == "second\n"
    assert "yaml" in loaded   # the changed manifest is read from Git, not from a cache


def test_a_commit_that_changes_only_a_source_file_reads_no_yaml(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "files/motd": "hello\n",
                "apps/web/files.yaml": "apiVersion: gitward/v1\nkind: File\nmetadata:\n"
                                       "  name: motd\nspec:\n  path: /etc/motd\n"
                                       "  source: /files/motd\n"})
    sync_loading(env)
    env.commit({"files/motd": "second\n"})
    report, loaded = sync_loading(env)
    assert report["counts"]["updated"] == 1 and env.read("/etc/motd") == "second\n"
    assert "yaml" not in loaded   # the manifest is unchanged: its parse is reused
    assert "pydantic" not in loaded   # and so is its validation, and the system map's
    env.commit({"files/motd": bytes(range(256)).decode("latin-1")})   # now not UTF-8 text
    report, _ = sync_loading(env)
    assert report["counts"]["updated"] == 1
    assert (env.target / "etc/motd").read_bytes() == bytes(range(256)).decode("latin-1").encode()


def test_removing_a_document_validates_none_of_the_others(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/files.yaml": file_manifest(
        "motd", "/etc/motd", "hello\n") + "---\n" + file_manifest("issue", "/etc/issue", "hi\n")})
    sync_loading(env)
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    report, loaded = sync_loading(env)
    assert report["counts"]["deleted"] == 1 and not env.exists("/etc/issue")
    assert "yaml" in loaded and "pydantic" not in loaded   # motd's resource is reused


def test_a_first_sync_with_the_users_validators_cached_imports_no_pydantic(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    first, loaded = sync_loading(env)   # a cold cache: pydantic builds the validators
    assert first["outcome"] == "succeeded" and "pydantic" in loaded
    assert {p.name for p in (env.tmp / "cache" / "gitward" / "validators").glob("*/*")} >= {
        "gitward.core.manifest.Manifest.pickle", "gitward.core.system.AppSpec.pickle",
        "gitward.providers.file_specs.FileSpec.pickle"}
    _new_host(env)
    report, loaded = sync_loading(env)
    assert report["counts"]["created"] == 1 and env.read("/etc/motd") == "hello\n"
    assert "yaml" in loaded and "pydantic" not in loaded
    # A bad manifest is refused as before, with its file, line and field.
    _new_host(env)
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hi\n")
                .replace('mode: "0644"', "mode: 644")})
    failed = env.subprocess(*env.args("sync", "--all"))
    assert failed.code != 0 and not env.exists("/etc/motd")
    assert ("apps/web/files.yaml:8: spec.mode: mode must be a quoted octal string"
            in failed.stderr), failed.stderr


def _new_host(env: Env) -> None:
    """No state, store or target: what a first sync starts from (the user's cache stays)."""
    shutil.rmtree(env.state, ignore_errors=True)
    shutil.rmtree(env.target, ignore_errors=True)
    env.target.mkdir()
    Path(env.store.removeprefix("sqlite:///")).unlink(missing_ok=True)
