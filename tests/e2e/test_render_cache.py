"""The render cache never serves stale resources: whatever a manifest reads
(its own bytes, a source file, values, a symlink's target) invalidates it."""

from __future__ import annotations

import os

import pytest

from gitward.engine.render import render_app
from gitward.engine.workspace import Workspace
from gitward.sources.snapshot import GitSnapshot
from gitward.stores import open_store
from tests.e2e.conftest import SYSTEM, Env, file_manifest

SOURCED = ("apiVersion: gitward/v1\nkind: File\nmetadata: {name: page}\n"
           "spec: {path: /srv/page, source: files/page.txt, template: true}\n")


def _sync_gives(env: Env, path: str, content: str) -> None:
    """Sync app web and check that the target's `path` then holds `content`."""
    result = env.cli("sync", "web")
    assert result.code == 0, result.stderr
    assert env.read(path) == content


def test_changing_only_a_source_file_updates_the_target(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/page.yaml": SOURCED,
                "apps/web/files/page.txt": "one\n",
                "apps/web/other.yaml": file_manifest("other", "/srv/other", "o\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/files/page.txt": "two\n"}, "Only the source")
    _sync_gives(env, "/srv/page", "two\n")
    assert env.read("/srv/other") == "o\n"


def test_changing_values_rerenders_templated_sources_of_a_plain_app(env: Env) -> None:
    system = SYSTEM + "    values: [values.yaml]\n"
    env.commit({"gitward.yaml": system, "values.yaml": "colour: red\n",
                "apps/web/page.yaml": SOURCED, "apps/web/files/page.txt": "{{ colour }}\n"})
    _sync_gives(env, "/srv/page", "red\n")
    env.commit({"values.yaml": "colour: blue\n"}, "Blue")
    _sync_gives(env, "/srv/page", "blue\n")


def test_symlinked_manifest_follows_its_target(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "shared/a.yaml": file_manifest("a", "/srv/a", "first\n")})
    (env.work / "apps/web").mkdir(parents=True)
    os.symlink("../../shared/a.yaml", env.work / "apps/web/a.yaml")
    env.commit({}, "Link a")
    _sync_gives(env, "/srv/a", "first\n")
    env.commit({"shared/a.yaml": file_manifest("a", "/srv/a", "second\n")}, "Change target")
    _sync_gives(env, "/srv/a", "second\n")


def test_a_symlinked_source_follows_its_target(env: Env) -> None:
    # The link's own directory keeps its Git id when the target changes: it
    # must not vouch for the file read through it.
    plain = SOURCED.replace(", template: true", "")
    env.commit({"gitward.yaml": SYSTEM, "apps/web/page.yaml": plain,
                "shared/page.txt": "one\n", "apps/web/files/other.txt": "o\n"})
    os.symlink("../../../shared/page.txt", env.work / "apps/web/files/page.txt")
    env.commit({}, "Link the source")
    _sync_gives(env, "/srv/page", "one\n")
    env.commit({"shared/page.txt": "two\n"}, "Change the link's target")
    _sync_gives(env, "/srv/page", "two\n")


def test_a_source_in_a_directory_with_other_changes_is_still_read(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM, "apps/web/page.yaml": SOURCED,
                "apps/web/files/page.txt": "one\n", "apps/web/files/x.txt": "x\n"})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/files/x.txt": "y\n"}, "A sibling changes")
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/files/page.txt": "two\n", "apps/web/files/x.txt": "z\n"}, "Both")
    _sync_gives(env, "/srv/page", "two\n")


def test_a_manifest_that_becomes_a_source_is_no_longer_a_manifest(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/conf.yaml": file_manifest("conf", "/srv/conf", "c\n")})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/deploy.yaml": (
        "apiVersion: gitward/v1\nkind: File\nmetadata: {name: deployed}\n"
        "spec: {path: /srv/deployed.yaml, source: conf.yaml}\n")}, "Ship conf.yaml as content")
    result = env.cli("sync", "web")
    assert result.code == 0, result.stderr
    assert not env.exists("/srv/conf")
    assert "kind: File" in env.read("/srv/deployed.yaml")


def _render_looking_up(env: Env, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[dict[str, str], list[str]]:
    """The web app rendered at the head: each resource's content by name, and
    the paths whose Git id the render looked up."""
    asked: list[str] = []
    tree_id = GitSnapshot.tree_id
    monkeypatch.setattr(GitSnapshot, "tree_id",
                        lambda self, path: asked.append(path) or tree_id(self, path))
    ws = Workspace(repo=str(env.origin), store=open_store(env.store), state_dir=env.state,
                   root_overrides={"local": str(env.target)})
    try:
        resources = render_app(ws.snapshot(), ws.app("web"), ws.system(), ws.state_dir)
    finally:
        ws.close()
    return {res.key.name: res.spec["content"] for res in resources}, asked


def test_a_new_commit_looks_up_files_only_in_the_directories_it_changed(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = {f"apps/web/{d}/{i}.txt": f"{d}{i}\n" for d in ("a", "b") for i in range(5)}
    pages = "---\n".join(
        f"apiVersion: gitward/v1\nkind: File\nmetadata: {{name: {d}{i}}}\n"
        f"spec: {{path: /srv/{d}{i}, source: {d}/{i}.txt}}\n" for d in ("a", "b") for i in range(5))
    env.commit({"gitward.yaml": SYSTEM, "apps/web/pages.yaml": pages, **sources})
    assert env.cli("sync", "web").code == 0
    env.commit({"apps/web/b/3.txt": "changed\n"}, "One source")

    contents, asked = _render_looking_up(env, monkeypatch)
    assert contents["b3"] == "changed\n" and contents["a1"] == "a1\n"
    # Directory a kept its Git id, which vouches for each of its files.
    assert asked and not [path for path in asked if path.startswith("apps/web/a/")]


def test_lookups_do_not_pile_up_over_commits_to_other_directories(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """One manifest per file, sources in two directories: after a commit to b, the
    manifests reading from b are vouched for by b's new id, so a later commit to
    a looks up nothing in b, nor any manifest of a directory it left alone."""
    sources = {f"files/{d}/{i}.txt": f"{d}{i}\n" for d in ("a", "b") for i in range(5)}
    pages = {f"apps/web/{d}/{i}.yaml": f"apiVersion: gitward/v1\nkind: File\nmetadata: "
             f"{{name: {d}{i}}}\nspec: {{path: /srv/{d}{i}, source: /files/{d}/{i}.txt}}\n"
             for d in ("a", "b") for i in range(5)}
    env.commit({"gitward.yaml": SYSTEM, **pages, **sources})
    assert env.cli("sync", "web").code == 0
    env.commit({"files/b/3.txt": "changed\n"}, "A source in b")
    assert env.cli("sync", "web").code == 0
    env.commit({"files/a/1.txt": "changed\n"}, "A source in a")

    contents, asked = _render_looking_up(env, monkeypatch)
    assert contents["a1"] == contents["b3"] == "changed\n" and contents["b1"] == "b1\n"
    assert asked and not [path for path in asked if path.startswith(("files/b/", "apps/web/"))]
