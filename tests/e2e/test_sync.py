"""A user's day with the CLI: plan, sync, change, prune, history, status."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import SYSTEM, Env, file_manifest


def test_first_sync_converges_and_plan_reports_in_sync(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/motd.yaml": file_manifest("motd", "/etc/motd", "hello\n")},
               "Add motd")
    planned = env.cli("plan", "web")
    assert planned.code == 2, planned.stdout
    assert "create" in planned.stdout and "File/motd@local" in planned.stdout
    assert not env.exists("/etc/motd"), "plan must not apply"

    synced = env.cli("sync", "--all")
    assert synced.code == 0, synced.stdout + synced.stderr
    assert env.read("/etc/motd") == "hello\n"
    assert oct((env.target / "etc/motd").stat().st_mode & 0o777) == "0o644"

    again = env.cli("plan", "web")
    assert again.code == 0 and "in sync" in again.stdout


def test_change_shows_field_diff_and_history_records_commit(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/motd.yaml": file_manifest("motd", "/etc/motd", "one\ntwo\n")}, "First")
    assert env.cli("sync", "web").code == 0
    head = env.commit({"apps/web/motd.yaml": file_manifest("motd", "/etc/motd", "one\nthree\n",
                                                           mode="0600")}, "Say three")
    planned = env.cli("plan", "web", "--output", "json")
    assert planned.code == 2
    change = planned.json()["apps"][0]["changes"][0]
    assert change["action"] == "update"
    paths = {f["path"] for f in change["fields"]}
    assert "spec.mode" in paths
    text = env.cli("plan", "web").stdout
    assert "-two" in text and "+three" in text, text

    assert env.cli("sync", "web").code == 0
    assert env.read("/etc/motd") == "one\nthree\n"
    runs = env.history("web")
    assert [r["subject"] for r in runs] == ["Say three", "First"]
    assert runs[0]["revision"] == head
    assert runs[0]["counts"]["update"] == 1
    assert runs[0]["outcome"] == "succeeded"


def test_removed_resource_is_pruned_and_prune_off_keeps_it(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n"),
                "apps/web/b.yaml": file_manifest("b", "/srv/b", "b\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/b.yaml": None}, "Drop b")
    assert env.cli("sync", "web").code == 0
    assert env.exists("/srv/a") and not env.exists("/srv/b")

    env.commit({"gitward.yaml": SYSTEM + "    sync: {prune: false}\n",
                "apps/web/a.yaml": None,
                "apps/web/c.yaml": file_manifest("c", "/srv/c", "c\n")}, "Drop a, prune off")
    planned = env.cli("plan", "web")
    assert "prune is off" in planned.stdout
    assert env.cli("sync", "web").code == 0
    assert env.exists("/srv/a"), "prune: false must keep what left Git"


def test_takeover_backs_up_and_prune_restores_original(env: Env) -> None:
    (env.target / "etc").mkdir()
    (env.target / "etc/hosts").write_text("127.0.0.1 original\n")
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/hosts.yaml": file_manifest("hosts", "/etc/hosts", "10.0.0.1 managed\n"),
                "apps/web/keep.yaml": file_manifest("keep", "/etc/keep", "k\n")})
    assert env.cli("sync", "web").code == 0
    assert env.read("/etc/hosts") == "10.0.0.1 managed\n"
    env.commit({"apps/web/hosts.yaml": None}, "Stop managing hosts")
    assert env.cli("sync", "web").code == 0
    assert env.read("/etc/hosts") == "127.0.0.1 original\n"


def test_empty_render_prunes_nothing_unless_allowed(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/a.yaml": None, "apps/web/README.md": "nothing here\n"}, "Empty it")
    refused = env.cli("sync", "web")
    assert refused.code == 1
    assert "allow_empty" in refused.stderr
    assert env.exists("/srv/a")
    env.commit({"gitward.yaml": SYSTEM + "    sync: {allow_empty: true}\n"}, "Allow empty")
    assert env.cli("sync", "web").code == 0
    assert not env.exists("/srv/a")


def test_status_table_and_json(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n")}, "Add a")
    before = env.cli("status", "--output", "json").json()["apps"][0]
    assert before["sync"] == "out_of_sync" and before["health"] == "missing"
    env.cli("sync", "web")
    after = env.cli("status", "--output", "json").json()["apps"][0]
    assert after["sync"] == "synced" and after["health"] == "healthy"
    assert after["subject"] == "Add a" and after["last_outcome"] == "succeeded"
    (env.target / "srv/a").write_text("edited by hand\n")
    drifted = env.cli("status").stdout
    assert "out_of_sync" in drifted


def test_dependencies_sync_first_and_failure_holds_dependent(env: Env) -> None:
    system = SYSTEM + "    depends_on: [base]\n  base:\n    path: apps/base\n"
    env.commit({"gitward.yaml": system,
                "apps/base/d.yaml": "apiVersion: gitward/v1\nkind: Directory\nmetadata: "
                                    "{name: srv}\nspec: {path: /srv}\n",
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n")})
    done = env.cli("sync", "--all", "--output", "json").json()["apps"]
    assert [a["app"] for a in done] == ["base", "web"]
    assert all(a["outcome"] == "succeeded" for a in done)
    # Make base fail: a command that exits 1.
    env.commit({"apps/base/fail.yaml": "apiVersion: gitward/v1\nkind: Command\nmetadata: "
                                       "{name: boom}\nspec: {command: 'exit 3'}\n",
                "apps/web/b.yaml": file_manifest("b", "/srv/b", "b\n")}, "Break base")
    result = env.cli("sync", "--all", "--output", "json")
    assert result.code == 1
    apps = {a["app"]: a for a in result.json()["apps"]}
    assert apps["base"]["outcome"] == "failed"
    assert "dependency base" in apps["web"]["held"]
    assert not env.exists("/srv/b")


def test_waves_and_depends_on_order_applies(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "order.log"
    def cmd(name: str, wave: str, deps: str | None = None) -> str:
        notes = f"    gitward/wave: \"{wave}\"\n" + (
            f"    gitward/depends-on: {deps}\n" if deps else "")
        return (f"apiVersion: gitward/v1\nkind: Command\nmetadata:\n  name: {name}\n"
                f"  annotations:\n{notes}spec:\n  command: echo {name} >> {log}\n")
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/c.yaml": "---\n".join([
                    cmd("late", "2"), cmd("b-second", "1", "Command/a-first"),
                    cmd("a-first", "1"), cmd("zero", "0")])})
    assert env.cli("sync", "web").code == 0
    assert log.read_text().split() == ["zero", "a-first", "b-second", "late"]


def test_adopting_an_identical_file_then_pruning_keeps_it(env: Env) -> None:
    (env.target / "etc").mkdir()
    (env.target / "etc/issue").write_text("same\n")
    (env.target / "etc/issue").chmod(0o644)
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/issue.yaml": file_manifest("issue", "/etc/issue", "same\n"),
                "apps/web/keep.yaml": file_manifest("keep", "/etc/keep", "k\n")})
    synced = env.cli("sync", "web", "--output", "json").json()["apps"][0]
    assert synced["counts"]["unchanged"] == 1
    env.commit({"apps/web/issue.yaml": None}, "Stop managing issue")
    assert env.cli("sync", "web").code == 0
    assert env.read("/etc/issue") == "same\n", "a file gitward found must outlive its prune"


def test_every_command_speaks_json(env: Env, tmp_path: Path) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n")}, "Add a")
    assert env.cli("validate", "--output", "json").json()["apps"] == {"web": 1}
    assert env.cli("plan", "--output", "json").json()["apps"][0]["in_sync"] is False
    assert env.cli("sync", "--all", "--output", "json").json()["apps"][0]["outcome"] == \
        "succeeded"
    assert env.cli("status", "--output", "json").json()["apps"][0]["sync"] == "synced"
    run = env.history("web")[0]["id"]
    full = env.store_cli("history", "web", "--run", str(run), "--output", "json")
    assert full.json()["results"][0]["key"] == "File/a@local"
    events = env.store_cli("events", "web", "--output", "json").stdout.splitlines()
    assert any('"synced"' in line for line in events)
    assert env.store_cli("unpin", "web", "--output", "json").json() == {
        "app": "web", "was_pinned": None}
    bad = env.cli("plan", "nope", "--output", "json")
    assert bad.code == 1 and "nope" in bad.json()["error"]


def test_schema_lists_every_kind_with_field_descriptions(env: Env) -> None:
    schema = env.cli("schema", repo_opts=False).json()
    kinds = {branch["properties"]["kind"]["const"] for branch in schema["oneOf"]}
    assert {"File", "Directory", "Symlink", "Command", "Application", "Target"} <= kinds
    file_spec = next(b for b in schema["oneOf"] if b["title"] == "File")["properties"]["spec"]
    assert "description" in file_spec["properties"]["mode"]
    unknown = env.cli("schema", "Teapot", repo_opts=False)
    assert unknown.code == 1 and "Teapot" in unknown.stdout


def test_sample_repository_from_init_converges(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gitward.cli import app

    runner = CliRunner()
    repo, target = tmp_path / "demo", tmp_path / "demo-target"
    store = f"sqlite:///{tmp_path / 'store.db'}"
    common = ["--repo", str(repo), "--store", store, "--state-dir", str(tmp_path / "state")]
    made = runner.invoke(app, ["init", str(repo)])
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["validate", *common]).exit_code == 0
    assert runner.invoke(app, ["plan", *common]).exit_code == 2
    synced = runner.invoke(app, ["sync", "--all", *common, "--output", "json"])
    assert synced.exit_code == 0, synced.output
    import json

    assert [a["app"] for a in json.loads(synced.stdout)["apps"]] == ["base", "jobs", "web"]
    assert "listen 8080;" in (target / "srv/demo/web/site.conf").read_text()
    assert "workers 4;" in (target / "srv/demo/web/site.conf").read_text()
    assert "production" in (target / "srv/demo/web/index.html").read_text()
    assert (target / "srv/demo/jobs/schedule").read_text() == "every 15 minutes: cleanup\n"
    assert (target / "srv/demo/jobs/first-run.txt").exists()
    assert (target / "srv/demo/current").is_symlink()
    assert runner.invoke(app, ["plan", *common]).exit_code == 0


def test_apps_and_targets_as_manifests_in_gitward_d(env: Env, tmp_path: Path) -> None:
    other = tmp_path / "other-root"
    env.commit({
        "gitward.d/apps.yaml": (
            "apiVersion: gitward/v1\nkind: Target\nmetadata: {name: edge}\n"
            f"spec: {{root: {other}}}\n---\n"
            "apiVersion: gitward/v1\nkind: Application\nmetadata: {name: edge-web}\n"
            "spec: {path: apps/edge, target: edge}\n"),
        "apps/edge/a.yaml": file_manifest("a", "/srv/a", "edge\n")}, "Edge app")
    result = env.cli("sync", "edge-web")
    assert result.code == 0, result.stderr
    assert (other / "srv/a").read_text() == "edge\n"
    assert not env.exists("/srv/a")


def test_ref_selects_a_tag(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/a.yaml": file_manifest("a", "/srv/a", "released\n")}, "v1")
    from tests.e2e.conftest import git

    git(env.work, "tag", "v1.0")
    git(env.work, "push", "-q", "origin", "v1.0")
    env.commit({"apps/web/a.yaml": file_manifest("a", "/srv/a", "unreleased\n")}, "wip")
    assert env.cli("sync", "web", "--ref", "v1.0").code == 0
    assert env.read("/srv/a") == "released\n"


def test_a_file_edited_by_hand_is_degraded_until_synced(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/a.yaml": file_manifest("a", "/srv/a", "a\n")})
    env.cli("sync", "web")
    (env.target / "srv/a").chmod(0o600)
    status = env.cli("status", "--output", "json").json()["apps"][0]
    assert status["health"] == "degraded" and status["sync"] == "out_of_sync"
    env.cli("sync", "web")
    assert env.cli("status", "--output", "json").json()["apps"][0]["health"] == "healthy"
    assert "planned" in [e["kind"] for e in env.events("web")]


def test_a_file_that_cannot_land_fails_alone_and_holds_later_waves(env: Env) -> None:
    """A wave's files are written together, yet each has its own result: the
    one whose directory is blocked fails, the rest of its wave lands, and the
    next wave is not started."""
    (env.target / "srv").mkdir()
    (env.target / "srv/blocked").write_text("a file where a directory is wanted\n")
    wave0 = {f"apps/web/f{i}.yaml": file_manifest(f"f{i}", f"/srv/d{i % 3}/f{i}", f"{i}\n")
             for i in range(30)}
    env.commit({"gitward.yaml": SYSTEM, **wave0,
                "apps/web/bad.yaml": file_manifest("bad", "/srv/blocked/bad", "x\n"),
                "apps/web/late.yaml": file_manifest("late", "/srv/late", "late\n",
                                                    annotations={"gitward/wave": "1"})})
    result = env.cli("sync", "web", "--output", "json")
    assert result.code == 1
    assert all(env.read(f"/srv/d{i % 3}/f{i}") == f"{i}\n" for i in range(30))
    assert not env.exists("/srv/late")
    run = env.history("web")[0]
    full = env.store_cli("history", "web", "--run", str(run["id"]), "--output", "json").json()
    by_key = {r["key"]: r for r in full["results"]}
    assert len(by_key) == 32
    assert "Not a directory" in by_key["File/bad@local"]["error"]
    assert "wave 0 failed" in by_key["File/late@local"]["error"]
    assert all(by_key[f"File/f{i}@local"]["ok"] for i in range(30))

    (env.target / "srv/blocked").unlink()
    assert env.cli("sync", "web").code == 0
    assert env.read("/srv/blocked/bad") == "x\n" and env.read("/srv/late") == "late\n"
    assert not [p for p in env.target.rglob("*") if ".gitward-" in p.name]
