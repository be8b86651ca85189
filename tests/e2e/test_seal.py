"""The seal: a one-shot sync that finds nothing new is recorded without the full
sync, and anything that could make it wrong sends it back to the full sync."""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gitward.core.model import Health, Outcome, Resource
from gitward.engine import seal, seal_payload
from gitward.engine.render_files import FileUnit
from gitward.engine.report import AppReport
from gitward.engine.sync import sync_apps
from gitward.engine.workspace import Workspace
from gitward.stores import open_store

from .conftest import FULL_SYNC, SYSTEM, Env, file_manifest, sync_loading

FILES = {"gitward.yaml": SYSTEM,
         "apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")
         + "---\napiVersion: gitward/v1\nkind: Directory\nmetadata:\n  name: conf\n"
           "spec:\n  path: /etc/conf.d\n  mode: \"0750\"\n"}


def _sealed(env: Env) -> None:
    env.commit(FILES)
    first, _ = sync_loading(env)
    assert first["outcome"] == "succeeded"


def test_a_sealed_noop_is_recorded_like_any_sync(env: Env) -> None:
    _sealed(env)
    report, loaded = sync_loading(env)
    assert FULL_SYNC not in loaded   # the seal answered
    assert report["counts"]["unchanged"] == 2 and report["health"] == "healthy"
    runs = env.history("web")
    assert runs[0]["id"] == report["run"] and runs[0]["outcome"] == "succeeded"
    assert runs[0]["revision"] == env.head() and runs[0]["counts"]["noop"] == 2
    synced = [e for e in env.events("web") if e["kind"] == "synced"]
    assert synced[-1]["data"]["run"] == report["run"]
    status = env.cli("status", "--output", "json").json()["apps"][0]
    assert status["revision"] == env.head()


def test_same_size_content_change_is_healed(env: Env) -> None:
    _sealed(env)
    sync_loading(env)
    motd = env.target / "etc/motd"
    before = motd.stat()
    motd.write_text("HELLO\n")                                  # same size
    os.utime(motd, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    healed, loaded = sync_loading(env)
    assert FULL_SYNC in loaded and healed["counts"]["updated"] == 1
    assert env.read("/etc/motd") == "hello\n"


def test_mode_drift_of_a_directory_is_healed(env: Env) -> None:
    _sealed(env)
    sync_loading(env)
    (env.target / "etc/conf.d").chmod(0o777)
    healed, _ = sync_loading(env)
    assert healed["counts"]["updated"] == 1
    assert (env.target / "etc/conf.d").stat().st_mode & 0o777 == 0o750


def test_a_removed_file_is_put_back(env: Env) -> None:
    _sealed(env)
    (env.target / "etc/motd").unlink()
    healed, _ = sync_loading(env)
    assert healed["counts"]["created"] == 1 and env.read("/etc/motd") == "hello\n"


def test_another_run_in_between_is_not_taken_on_trust(env: Env) -> None:
    _sealed(env)
    # Another process syncs the app without sealing it, as the agent does.
    ws = Workspace(repo=str(env.origin), store=open_store(env.store), state_dir=env.state,
                   root_overrides={"local": str(env.target)})
    try:
        assert sync_apps(ws, ["web"])[0].outcome is Outcome.succeeded
    finally:
        ws.close()
    report, loaded = sync_loading(env)
    assert FULL_SYNC in loaded and report["outcome"] == "succeeded"
    again, loaded = sync_loading(env)
    assert FULL_SYNC not in loaded and again["run"] == report["run"] + 1


def test_a_pin_sends_the_sync_back_to_the_full_path(env: Env) -> None:
    _sealed(env)
    first = env.head()
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "second\n")})
    sync_loading(env)
    assert env.read("/etc/motd") == "second\n"
    assert env.cli("rollback", "web", "--pin", first, "--reason", "test").code == 0
    report, loaded = sync_loading(env)
    assert FULL_SYNC in loaded and report["pinned"] == first
    assert env.read("/etc/motd") == "hello\n"


def test_another_root_does_not_use_this_roots_seal(env: Env) -> None:
    _sealed(env)
    other = env.tmp / "other-root"
    other.mkdir()
    report, loaded = sync_loading(replace(env, target=other))
    assert FULL_SYNC in loaded and report["counts"]["created"] == 2
    assert (other / "etc/motd").read_text() == "hello\n"


def test_a_change_in_the_same_clock_tick_is_caught_by_the_bytes(env: Env) -> None:
    """A write in the same clock tick as the sealing run's lstat can leave every
    fact as sealed. Such a file (ctime not clearly before the run) is hashed."""
    _sealed(env)
    motd = env.target / "etc/motd"
    motd.write_text("HELLO\n")
    # Make the seal hold the facts of now, as a same-tick write would leave them.
    st = motd.stat()
    facts = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
             "inode": st.st_ino}
    _rewrite_live(env, lambda r: r._replace(spec={**r.spec, **facts})
                  if r.spec["path"] == "/etc/motd" else r)
    healed, loaded = sync_loading(env)
    assert FULL_SYNC in loaded and healed["counts"]["updated"] == 1
    assert env.read("/etc/motd") == "hello\n"


def _rewrite_live(env: Env, change: Callable[[Resource], Resource]) -> None:
    """Change the live resources the app's seal holds, as if its run had seen them so."""
    path = next(p for p in (env.state / "cache" / "seal").iterdir() if "-" in p.name)
    sealed: seal_payload.Payload = pickle.loads(path.read_bytes())["payload"]
    for group in sealed.pairs:
        desired, live = sealed.pair(group)
        live = tuple(change(r) for r in live)
        sealed.pairs[group] = pickle.dumps((desired, live))
        sealed.facts[group] = seal_payload.pack_facts(live)
    path.write_bytes(pickle.dumps({"payload": sealed}))


def test_files_written_by_the_sealing_run_are_trusted_once_hashed(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _sealed(env)
    time.sleep(0.06)   # past the window in which a ctime is too close to trust
    hashed: list[str] = []
    holds = seal._holds
    monkeypatch.setattr(seal, "_holds", lambda host, sha: hashed.append(host) or holds(host, sha))

    def sealed_sync() -> None:
        ws = Workspace(repo=str(env.origin), store=open_store(env.store),
                       state_dir=env.state, root_overrides={"local": str(env.target)},
                       seal=True)
        try:
            reports = seal.sealed_sync(ws, [], True)
        finally:
            ws.close()
        assert reports is not None and reports[0].outcome is Outcome.succeeded

    sealed_sync()     # hashes what the first run wrote (the directory has no bytes)
    assert hashed == [str(env.target / "etc/motd")]
    hashed.clear()
    sealed_sync()     # dated by the run that hashed them, their facts now suffice
    assert hashed == []
    last, loaded = sync_loading(env)
    assert FULL_SYNC not in loaded and last["counts"]["unchanged"] == 2


def test_an_app_that_keeps_a_resource_git_dropped_is_not_sealed(env: Env) -> None:
    keep = SYSTEM + "    sync:\n      prune: false\n"
    env.commit({**FILES, "gitward.yaml": keep})
    sync_loading(env)
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    first, _ = sync_loading(env)   # conf.d stays: prune is off
    assert (env.target / "etc/conf.d").is_dir() and first["outcome"] == "succeeded"
    again, loaded = sync_loading(env)
    assert again["outcome"] == "succeeded"
    assert FULL_SYNC in loaded   # the inventory holds more than Git: the full sync looks


# -- a new commit, planned from the seal --------------------------------------

ISSUE = file_manifest("issue", "/etc/issue", "welcome\n")


def test_a_new_commit_changes_only_what_it_changed_and_heals_drift(env: Env) -> None:
    env.commit({"apps/web/more.yaml": ISSUE})
    _sealed(env)
    time.sleep(0.06)   # what the sealing run wrote is past the racy window: trusted
    issue = env.target / "etc/issue"
    before = issue.stat()
    issue.write_text("WELCOME\n")                               # same size, by hand
    os.utime(issue, ns=(before.st_atime_ns, before.st_mtime_ns))
    (env.target / "etc/conf.d").chmod(0o777)                     # and a mode, by hand
    env.commit({"apps/web/files.yaml": FILES["apps/web/files.yaml"].replace(
        "hello", "hello again")})
    report, _ = sync_loading(env)
    assert report["counts"]["updated"] == 3 and report["outcome"] == "succeeded"
    assert env.read("/etc/motd") == "hello again\n" and env.read("/etc/issue") == "welcome\n"
    assert (env.target / "etc/conf.d").stat().st_mode & 0o777 == 0o750
    time.sleep(0.06)
    sync_loading(env)                       # hashes what that run wrote
    again, loaded = sync_loading(env)
    assert FULL_SYNC not in loaded and again["counts"]["unchanged"] == 3   # sealed anew


def test_a_resource_dropped_from_git_is_pruned_by_the_sealed_inventory(env: Env) -> None:
    _sealed(env)
    env.commit({"apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    report, _ = sync_loading(env)
    assert report["counts"]["deleted"] == 1 and not env.exists("/etc/conf.d")
    assert env.read("/etc/motd") == "hello\n"


def test_a_new_commit_after_another_run_plans_from_the_store(env: Env) -> None:
    """Another process's run may change the inventory: the seal no longer speaks
    for it, so what that run added is pruned when Git drops it."""
    _sealed(env)
    env.commit({"apps/web/more.yaml": ISSUE})
    ws = Workspace(repo=str(env.origin), store=open_store(env.store), state_dir=env.state,
                   root_overrides={"local": str(env.target)})
    try:
        assert sync_apps(ws, ["web"])[0].outcome is Outcome.succeeded   # not sealing
    finally:
        ws.close()
    assert env.read("/etc/issue") == "welcome\n"
    env.commit({"apps/web/more.yaml": None})
    report, _ = sync_loading(env)
    assert report["counts"]["deleted"] == 1 and not env.exists("/etc/issue")


def test_a_new_target_root_in_git_is_converged_in_full(env: Env) -> None:
    """The seal speaks for the root it was made at: a commit that moves the target
    (without a --root override) is synced there in full."""
    _sealed(env)
    moved = env.tmp / "moved-root"
    system = f"apiVersion: gitward/v1\nkind: System\ntargets:\n  local: {{root: {moved}}}\n" \
             "apps:\n  web:\n    path: apps/web\n"
    env.commit({"gitward.yaml": system})
    done = env.subprocess("sync", "--all", "--repo", str(env.origin), "--store", env.store,
                          "--state-dir", str(env.state), "--output", "json")
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)["apps"][0]
    assert report["counts"]["created"] == 2 and (moved / "etc/motd").read_text() == "hello\n"


def test_a_kind_the_seal_does_not_cover_runs_and_unseals_the_app(env: Env) -> None:
    _sealed(env)
    ran = env.tmp / "ran.log"
    command = (f"apiVersion: gitward/v1\nkind: Command\nmetadata:\n  name: note\n"
               f"spec:\n  command: echo ran >> {ran}\n  creates: /etc/motd.note\n")
    env.commit({"apps/web/command.yaml": command})
    report, _ = sync_loading(env)
    assert report["counts"]["created"] == 1 and ran.read_text() == "ran\n"
    again, loaded = sync_loading(env)     # not sealed: a Command is looked at every time
    assert FULL_SYNC in loaded and again["outcome"] == "succeeded"


def test_a_run_of_commits_planned_from_the_seal_keeps_it_whole(env: Env) -> None:
    """Each run planned from the seal re-seals only the manifests it looked at and
    keeps the others as they were sealed; the seal read back must still be the
    whole app, as a later no-op, a prune and a heal of drift show."""
    pages = {f"apps/web/page{i}.yaml": file_manifest(f"page{i}", f"/srv/page{i}", f"{i}\n")
             for i in range(5)}
    env.commit(pages)
    _sealed(env)
    for i in range(3):
        env.commit({"apps/web/page1.yaml": file_manifest("page1", "/srv/page1", f"v{i}\n"),
                    f"apps/web/new{i}.yaml": file_manifest(f"new{i}", f"/srv/new{i}", "n\n")})
        report, _ = sync_loading(env)
        assert report["counts"]["updated"] == 1 and report["counts"]["created"] == 1
    env.commit({"apps/web/page3.yaml": None, "apps/web/new0.yaml": None})
    pruned, _ = sync_loading(env)
    assert pruned["counts"]["deleted"] == 2 and not env.exists("/srv/page3")
    time.sleep(0.06)
    sync_loading(env)                       # hashes what the runs wrote
    again, loaded = sync_loading(env)
    assert FULL_SYNC not in loaded and again["counts"]["unchanged"] == 2 + 4 + 2
    (env.target / "srv/page2").write_text("drifted\n")
    healed, _ = sync_loading(env)
    assert healed["counts"]["updated"] == 1 and env.read("/srv/page2") == "2\n"
    assert env.read("/srv/page1") == "v2\n" and env.read("/srv/new2") == "n\n"


def test_a_seal_that_cannot_be_read_is_not_taken_on_trust(env: Env) -> None:
    """Without its resources the seal cannot say what to prune: the full sync
    plans from the store, and a resource Git then drops is still pruned."""
    _sealed(env)
    env.commit({"apps/web/more.yaml": ISSUE})
    assert sync_loading(env)[0]["counts"]["created"] == 1
    payload = next(p for p in (env.state / "cache" / "seal").iterdir() if "-" in p.name)
    payload.write_bytes(b"not a pickle")
    env.commit({"apps/web/more.yaml": None})
    report, _ = sync_loading(env)
    assert report["counts"]["deleted"] == 1 and not env.exists("/etc/issue")


# -- manifests a commit left alone ----------------------------------------------

PAGES = {f"apps/web/page{i}.yaml": file_manifest(f"page{i}", f"/srv/page{i}", f"{i}\n")
         for i in range(5)}


def _loads_of_units(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The blob ids of the manifest units whose resources get loaded from the cache."""
    loaded: list[str | None] = []
    entries = FileUnit.entries

    def spy(unit: FileUnit) -> Any:
        if not unit.loaded:
            loaded.append(unit.blob)
        return entries.fget(unit)  # type: ignore[misc]
    monkeypatch.setattr(FileUnit, "entries", property(spy, entries.fset))
    return loaded


def _sync_in_process(env: Env) -> AppReport:
    ws = Workspace(repo=str(env.origin), store=open_store(env.store), state_dir=env.state,
                   root_overrides={"local": str(env.target)}, seal=True, objects="git")
    try:
        return sync_apps(ws, ["web"])[0]
    finally:
        ws.close()


def _sealed_pages(env: Env) -> None:
    """Pages sealed by a run that wrote none of them: their facts alone are trusted."""
    env.commit(PAGES)
    _sealed(env)
    time.sleep(0.06)
    assert FULL_SYNC not in sync_loading(env)[1]   # hashes what the first run wrote


def test_a_commit_loads_only_the_manifests_it_changed(env: Env,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _sealed_pages(env)
    env.commit({"apps/web/page1.yaml": file_manifest("page1", "/srv/page1", "new\n")})
    loaded = _loads_of_units(monkeypatch)

    report = _sync_in_process(env)

    assert report.outcome is Outcome.succeeded and report.health is Health.healthy
    assert report.tally()["updated"] == 1 and report.tally()["unchanged"] == 6
    assert report.plan.settled == 6            # the four other pages, the two of files.yaml
    assert len(loaded) == 1                    # page1's old entries, candidates for the new
    assert env.read("/srv/page1") == "new\n"
    run = env.history("web")[0]
    assert run["counts"]["noop"] == 6 and run["counts"]["update"] == 1


def test_drift_in_a_manifest_the_commit_left_alone_is_healed(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _sealed_pages(env)
    (env.target / "srv/page3").write_text("drifted\n")
    env.commit({"apps/web/page1.yaml": file_manifest("page1", "/srv/page1", "new\n")})
    loaded = _loads_of_units(monkeypatch)

    report = _sync_in_process(env)

    assert report.tally()["updated"] == 2 and report.plan.settled == 5
    assert env.read("/srv/page3") == "3\n" and env.read("/srv/page1") == "new\n"
    assert len(loaded) == 2                    # page1's, and page3's to look at it


def test_a_dependency_on_a_manifest_left_alone_is_checked(env: Env) -> None:
    late = file_manifest("page4", "/srv/page4", "4\n", annotations={"gitward/wave": "2"})
    env.commit({**PAGES, "apps/web/page4.yaml": late})
    _sealed(env)
    time.sleep(0.06)
    sync_loading(env)
    env.commit({"apps/web/page1.yaml": file_manifest(
        "page1", "/srv/page1", "new\n", annotations={"gitward/depends-on": "File/page4"})})

    done = env.cli("sync", "--all", "--output", "json")

    assert done.code == 1
    assert "File/page1@local (wave 0) depends on File/page4@local (wave 2)" in done.stdout
    assert env.read("/srv/page1") == "1\n"   # nothing applied


def test_a_key_declared_again_beside_manifests_left_alone_is_refused(env: Env) -> None:
    _sealed_pages(env)
    env.commit({"apps/web/again.yaml": file_manifest("page3", "/srv/other", "x\n")})

    done = env.cli("sync", "--all", "--output", "json")

    assert done.code == 1
    assert "File/page3@local is declared twice" in done.stdout
    assert "apps/web/page3.yaml" in done.stdout and "apps/web/again.yaml" in done.stdout
    assert not env.exists("/srv/other")


def test_a_path_claimed_by_another_app_beside_manifests_left_alone_is_refused(
        env: Env) -> None:
    _sealed_pages(env)
    two_apps = SYSTEM + "  api:\n    path: apps/api\n"
    env.commit({"gitward.yaml": two_apps,
                "apps/api/page.yaml": file_manifest("other", "/srv/page2", "x\n")})

    done = env.cli("sync", "--all", "--output", "json")

    assert done.code == 1
    assert "both manage fs:/srv/page2" in done.stdout and "apps/web/page2.yaml" in done.stdout
    assert env.read("/srv/page2") == "2\n"
