"""The updater end to end: real registry and index, a real Git origin, real pushes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import gitward.updates.commit as update_commit
from gitward.sources import GitSource
from gitward.stores.memory import MemoryStore
from gitward.updates import (
    MarkerError,
    UpdateCommitError,
    VersionSourceError,
    due_policies,
    load_policies,
    run_updates,
)
from gitward.updates.cli import update_command
from tests.updates.conftest import Origin, Registry, git

COMPOSE = """\
# The web front end; the updater keeps its image current.
services:
  web:
    image: {image}:1.4.2  # gitward:update web-image
    ports: ["8080:80"]    # unchanged
  cache:
    image: redis:7.2      # not marked
"""


def policies_yaml(registry: Registry, repository: str, commit: str = "{}",
                  select: str = '{semver: ">=1.4 <2"}', extra: str = "") -> str:
    return f"""\
apiVersion: gitward/v1
kind: System
apps:
  web: {{path: apps/web}}
---
apiVersion: gitward/v1
kind: UpdatePolicy
metadata: {{name: web-image}}
spec:
  source:
    registry: {{url: "{registry.url}", repository: {repository}}}
  select: {select}
  commit: {commit}
{extra}"""


@pytest.fixture
def repository(registry: Registry, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A registry repository of its own for each test, with 1.4.2, 1.5.0, 2.0.0 and latest."""
    name = "t/" + request.node.name.lower().replace("_", "-").replace("[", "-").strip("]-")[:60]
    registry.push(name, "1.4.2", "1.5.0", "2.0.0", "latest")
    return name


def setup_origin(tmp_path: Path, registry: Registry, repository: str, **policy: str) -> Origin:
    origin = Origin(tmp_path / "remote")
    image = registry.url.removeprefix("http://") + "/" + repository
    origin.commit({"gitward.yaml": policies_yaml(registry, repository, **policy),
                   "apps/web/compose.yaml": COMPOSE.format(image=image)}, "initial")
    return origin


def changed_lines(origin: Origin, old: str, new: str) -> list[str]:
    diff = git(origin.bare, "diff", "--unified=0", old, new)
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_new_tag_becomes_one_commit_changing_only_the_marked_line(
        tmp_path: Path, registry: Registry, repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    before = origin.head()
    store = MemoryStore()
    report = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", store)

    after = origin.head()
    assert git(origin.bare, "rev-list", f"{before}..{after}").splitlines() == [after]
    image = registry.url.removeprefix("http://") + "/" + repository
    # 2.0.0 is a major bump outside ">=1.4 <2"; "latest" does not parse.
    assert changed_lines(origin, before, after) == [
        f"-    image: {image}:1.4.2  # gitward:update web-image",
        f"+    image: {image}:1.5.0  # gitward:update web-image",
    ]
    message = git(origin.bare, "log", "-1", "--format=%an <%ae>%n%B", after)
    assert message.startswith("gitward <gitward@localhost>\nUpdate web-image to 1.5.0\n")
    assert f"apps/web/compose.yaml:4 (web-image): {image}:1.4.2 → {image}:1.5.0" in message
    (outcome,) = report.plan.outcomes
    assert (outcome.choice.chosen, outcome.choice.skipped) == ("1.5.0", 1)
    kinds = [(e["app"], e["kind"]) for e in store.events()]
    assert kinds == [("web-image", "update-proposed"), ("web-image", "update-committed")]
    assert store.events()[1]["revision"] == after

    # Once current, a run commits nothing.
    again = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", store)
    assert again.plan.bumps == [] and again.commits == [] and origin.head() == after


def test_dry_run_shows_the_table_and_commits_nothing(
        tmp_path: Path, registry: Registry, repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    before = origin.head()
    command = click.command()(click.option("--dry-run", is_flag=True)(
        click.option("--output", default="text")(
            lambda dry_run, output: update_command(str(origin.bare), None, "memory://",
                                                   tmp_path / "state", dry_run, output))))
    result = CliRunner().invoke(command, ["--dry-run"])
    assert result.exit_code == 0, result.output
    assert "web-image" in result.output and "apps/web/compose.yaml:4" in result.output
    flat = "".join(result.output.split())  # columns fold long values over lines
    assert "policyfile:lineoldnewsource" in flat and "1.5.0" in flat
    assert "1proposed;dryrun,nothingcommitted" in flat
    assert origin.head() == before

    as_json = CliRunner().invoke(command, ["--dry-run", "--output", "json"])
    (bump,) = json.loads(as_json.output)["bumps"]
    assert (bump["old_version"], bump["new_version"]) == ("1.4.2", "1.5.0")
    assert bump["source"] == f"registry {registry.url}/{repository}"
    assert origin.head() == before


def test_branch_mode_leaves_main_untouched(tmp_path: Path, registry: Registry,
                                           repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository, commit="{mode: branch}")
    before = origin.head()
    report = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)

    assert origin.head() == before
    assert origin.branches() == ["gitward/update/web-image-1.5.0", "main"]
    proposed = origin.head("gitward/update/web-image-1.5.0")
    assert git(origin.bare, "rev-parse", f"{proposed}^") == before
    assert len(changed_lines(origin, before, proposed)) == 2
    assert report.commits[0].branch == "gitward/update/web-image-1.5.0"

    # The next run finds the branch there and leaves it alone.
    again = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)
    assert again.commits[0].already_proposed
    assert origin.head("gitward/update/web-image-1.5.0") == proposed


def test_a_concurrent_push_is_rebased_and_retried(
        tmp_path: Path, registry: Registry, repository: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    real_push = update_commit.push
    raced: list[str] = []

    def push_after_someone_else(source: GitSource, sha: str, branch: str) -> None:
        if not raced:  # between our fetch and our push, a person pushes to the same file
            text = (origin.work / "apps/web/compose.yaml").read_text()
            raced.append(origin.commit({"apps/web/compose.yaml":
                                        text.replace("redis:7.2", "redis:7.4")}, "by hand"))
        real_push(source, sha, branch)

    monkeypatch.setattr(update_commit, "push", push_after_someone_else)
    report = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)

    assert report.commits[0].attempts == 2
    head = origin.head()
    assert git(origin.bare, "rev-parse", f"{head}^") == raced[0]  # on top of theirs, no force
    text = origin.show("apps/web/compose.yaml")
    assert ":1.5.0  # gitward:update web-image" in text and "redis:7.4" in text


def test_a_range_matching_nothing_is_reported(tmp_path: Path, registry: Registry,
                                              repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository, select='{semver: ">=3"}')
    before = origin.head()
    store = MemoryStore()
    report = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", store)
    assert report.commits == [] and origin.head() == before
    (event,) = store.events()
    assert event["kind"] == "update-checked"
    assert "range '>=3' matched none of 4 listed versions (1 unparsable" in event["message"]


def test_unknown_policy_in_a_marker_changes_nothing(tmp_path: Path, registry: Registry,
                                                    repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    origin.commit({"apps/web/extra.yml": "image: x:1  # gitward:update web-imag\n"})
    before = origin.head()
    store = MemoryStore()
    with pytest.raises(MarkerError, match=r"^apps/web/extra.yml:1: marker names policy "
                                          r"'web-imag', which is not declared"):
        run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", store)
    assert origin.head() == before
    assert [e["kind"] for e in store.events()] == ["update-failed"]


def test_an_unreachable_repository_in_the_registry_changes_nothing(
        tmp_path: Path, registry: Registry) -> None:
    origin = setup_origin(tmp_path, registry, "t/never-pushed")
    before = origin.head()
    with pytest.raises(VersionSourceError, match=r"no such repository \(404\)"):
        run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)
    assert origin.head() == before


def test_a_push_the_repository_rejects(tmp_path: Path, registry: Registry,
                                       repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    before = origin.head()
    hook = origin.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    store = MemoryStore()
    with pytest.raises(UpdateCommitError, match="the update commit was not pushed"):
        run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", store)
    assert origin.head() == before
    assert store.events()[-1]["kind"] == "update-failed"


def test_pypi_policy_updates_a_text_file(tmp_path: Path, registry: Registry, repository: str,
                                         pypi_index: str) -> None:
    extra = f"""---
apiVersion: gitward/v1
kind: UpdatePolicy
metadata: {{name: web-tool}}
spec:
  source: {{pypi: {{index: "{pypi_index}/simple", package: web-tool}}}}
  select: {{semver: "<2"}}
  files: ["apps/*/requirements.txt"]
  commit: {{per: policy, author: {{name: Bot, email: bot@example.org}}}}
"""
    origin = setup_origin(tmp_path, registry, repository, extra=extra)
    origin.commit({"apps/web/requirements.txt":
                   "web-tool==1.0.0  # gitward:update web-tool\nother==1.0\n"})
    before = origin.head()
    report = run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)

    assert len(report.commits) == 2  # web-tool commits on its own (per: policy)
    assert origin.show("apps/web/requirements.txt") == (
        "web-tool==1.2.0  # gitward:update web-tool\nother==1.0")  # not 1.3.0rc1, not 2.0.0
    authors = git(origin.bare, "log", "--format=%an", f"{before}..main").splitlines()
    assert sorted(authors) == ["Bot", "gitward"]


def test_ssh_signed_commit(tmp_path: Path, registry: Registry, repository: str) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is missing: apt-get install openssh-client")
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f", str(key)],
                   check=True)
    origin = setup_origin(tmp_path, registry, repository,
                          commit=f'{{signing: {{format: ssh, key: "{key}"}}}}')
    run_updates(GitSource(str(origin.bare), tmp_path / "state"), "main", None)
    allowed = tmp_path / "allowed"
    allowed.write_text("gitward@localhost " + (tmp_path / "signing-key.pub").read_text())
    verified = subprocess.run(["git", "-c", "gpg.format=ssh", "-c",
                               f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "main"],
                              cwd=origin.bare, capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for gitward@localhost' in verified.stderr


def test_policies_are_due_on_their_own_interval(tmp_path: Path, registry: Registry,
                                                repository: str) -> None:
    origin = setup_origin(tmp_path, registry, repository)
    source = GitSource(str(origin.bare), tmp_path / "state")
    (policy,) = load_policies(source.fetch()).values()
    assert policy.interval == 300.0
    assert due_policies({"web-image": policy}, {}, 1000.0) == ["web-image"]
    assert due_policies({"web-image": policy}, {"web-image": 900.0}, 1000.0) == []
    assert due_policies({"web-image": policy}, {"web-image": 700.0}, 1000.0) == ["web-image"]
