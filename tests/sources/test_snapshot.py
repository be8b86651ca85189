"""Reading a commit's files: paths, symlinks, submodules, tree ids and changed paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gitward.core.errors import PathEscapeError
from gitward.sources import GitSnapshot, GitSource, MirrorReadError, ObjectsKind

from .conftest import Link, Origin, git

APPS = {
    "apps/web/a.yaml": "a\n",
    "apps/web/deep/b.yaml": "b\n",
    "apps/db/x.yaml": "x\n",
    "shared/base.yaml": "base\n",
    "top.txt": "top\n",
}


@pytest.fixture
def snapshot(origin: Origin, source: GitSource) -> GitSnapshot:
    origin.commit(APPS)
    return source.fetch()


def test_read_exists_is_dir_and_walk(snapshot: GitSnapshot) -> None:
    assert snapshot.read("apps/db/x.yaml") == b"x\n"
    assert snapshot.read("./apps//db/x.yaml") == b"x\n"
    assert snapshot.exists("apps/web") and snapshot.is_dir("apps/web")
    assert snapshot.exists("top.txt") and not snapshot.is_dir("top.txt")
    assert not snapshot.exists("apps/nope")
    assert list(snapshot.walk("apps/web")) == ["apps/web/a.yaml", "apps/web/deep/b.yaml"]
    assert list(snapshot.walk("")) == sorted(APPS)
    assert list(snapshot.walk("apps/nope")) == []


@pytest.mark.parametrize("path", ["apps/web", "apps/nope.yaml"])
def test_reading_a_directory_or_missing_file_is_file_not_found(snapshot: GitSnapshot,
                                                               path: str) -> None:
    with pytest.raises(FileNotFoundError, match=path):
        snapshot.read(path)


@pytest.mark.parametrize("path", ["../etc/passwd", "apps/../../x", "/etc/passwd", "apps\0x"])
def test_paths_leaving_the_repository_are_refused(snapshot: GitSnapshot, path: str) -> None:
    for method in (snapshot.read, snapshot.exists, snapshot.is_dir, snapshot.tree_id):
        with pytest.raises(PathEscapeError):
            method(path)
    with pytest.raises(PathEscapeError):
        list(snapshot.walk(path))


def test_symlinks_inside_the_repository_are_followed(origin: Origin, source: GitSource) -> None:
    origin.commit({**APPS,
                   "apps/web/base.yaml": Link("../../shared/base.yaml"),
                   "apps/web/again.yaml": Link("base.yaml"),   # a link to a link
                   "apps/prod": Link("web"),                    # a link to a directory
                   "apps/web/dangling.yaml": Link("nope.yaml")})
    snapshot = source.fetch()

    assert snapshot.read("apps/web/base.yaml") == b"base\n"
    assert snapshot.read("apps/web/again.yaml") == b"base\n"
    assert snapshot.read("apps/prod/a.yaml") == b"a\n"
    assert snapshot.is_dir("apps/prod")
    assert snapshot.tree_id("apps/prod") == snapshot.tree_id("apps/web")
    assert list(snapshot.walk("apps/prod")) == ["apps/prod/a.yaml", "apps/prod/again.yaml",
                                                "apps/prod/base.yaml", "apps/prod/deep/b.yaml"]
    # Links to files are listed, links to directories and dangling links are not.
    assert list(snapshot.walk("apps")) == ["apps/db/x.yaml", "apps/web/a.yaml",
                                           "apps/web/again.yaml", "apps/web/base.yaml",
                                           "apps/web/deep/b.yaml"]


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../outside.yaml"])
def test_symlink_leaving_the_repository_is_refused(origin: Origin, source: GitSource,
                                                   target: str) -> None:
    origin.commit({**APPS, "apps/web/evil.yaml": Link(target)})
    snapshot = source.fetch()

    assert "apps/web/evil.yaml" in list(snapshot.walk("apps/web"))  # listed, so a render fails
    with pytest.raises(PathEscapeError) as caught:
        snapshot.read("apps/web/evil.yaml")
    assert "'apps/web/evil.yaml'" in str(caught.value)
    assert repr(target) in str(caught.value)


def test_symlink_loop_is_refused(origin: Origin, source: GitSource) -> None:
    origin.commit({"a.yaml": Link("b.yaml"), "b.yaml": Link("a.yaml")})
    with pytest.raises(PathEscapeError, match="loop"):
        source.fetch().read("a.yaml")


def test_walk_skips_submodules(origin: Origin, source: GitSource) -> None:
    first = origin.commit(APPS)
    # A gitlink entry is all a submodule is in the tree; its commit need not exist here.
    git(origin.work, "update-index", "--add", "--cacheinfo", f"160000,{first},apps/web/vendor")
    git(origin.work, "commit", "-q", "-m", "add submodule")
    git(origin.work, "push", "-q", "origin", "HEAD:refs/heads/main")
    snapshot = source.fetch()

    assert list(snapshot.walk("apps/web")) == ["apps/web/a.yaml", "apps/web/deep/b.yaml"]
    assert not snapshot.exists("apps/web/vendor")
    with pytest.raises(FileNotFoundError):
        snapshot.read("apps/web/vendor")


def test_tree_id_changes_only_for_the_changed_app(origin: Origin, source: GitSource) -> None:
    first = origin.commit(APPS)
    before = source.fetch()
    origin.commit({"apps/web/deep/b.yaml": "b2\n"})
    after = source.fetch()

    assert after.tree_id("apps/web") != before.tree_id("apps/web")
    assert after.tree_id("apps/db") == before.tree_id("apps/db")
    assert before.tree_id("apps/db") == origin.at(first, "apps/db")  # git's own tree id
    assert before.tree_id("apps/db/x.yaml") == origin.at(first, "apps/db/x.yaml")
    assert before.tree_id("apps/missing") is None


def test_a_directory_id_vouches_for_its_files_only_without_symlinks(
        origin: Origin, source: GitSource) -> None:
    origin.commit({**APPS, "apps/web/base.yaml": Link("../../shared/base.yaml"),
                   "apps/prod": Link("db")})
    before = source.fetch()
    assert before.dir_id("apps/db") == before.tree_id("apps/db")
    assert before.dir_id("apps/prod") is None            # only reached through a symlink
    assert before.tree_id("apps/prod") == before.tree_id("apps/db")
    assert before.dir_id("top.txt") is None and before.dir_id("apps/nope") is None
    assert before.plain_dirs(["apps/db/x.yaml", "./shared//base.yaml"]) == {
        "apps/db": before.tree_id("apps/db"), "shared": before.tree_id("shared")}
    assert before.plain_dirs(["apps/web/a.yaml", "apps/prod/x.yaml", "../x.yaml",
                              "top.txt"]) == {"": before.tree_id("")}
    # apps/web holds a symlink, apps/prod is one, ../x.yaml is refused.

    # The link's target changes: apps/web keeps its id (which is why it cannot
    # vouch for base.yaml), shared does not.
    origin.commit({"shared/base.yaml": "base2\n"})
    after = source.fetch()
    assert after.dir_id("apps/web") == before.dir_id("apps/web")
    assert after.tree_id("apps/web/base.yaml") != before.tree_id("apps/web/base.yaml")
    assert after.dir_id("shared") != before.dir_id("shared")
    assert after.dir_id("apps/db") == before.dir_id("apps/db")


def test_changed_paths_lists_added_modified_deleted_and_renamed(origin: Origin,
                                                                source: GitSource) -> None:
    old = origin.commit(APPS)
    git(origin.work, "mv", "apps/db/x.yaml", "apps/db/y.yaml")
    new = origin.commit({"apps/web/a.yaml": "a2\n", "apps/web/deep/b.yaml": None,
                         "apps/cache/c.yaml": "c\n"})
    source.fetch()

    assert source.changed_paths(old, new) == {
        "apps/web/a.yaml", "apps/web/deep/b.yaml", "apps/cache/c.yaml",
        "apps/db/x.yaml", "apps/db/y.yaml",
    }
    assert source.changed_paths(new, new) == set()


def _craft_tree(repository: Path, bad_name: bytes) -> None:
    """Make main a commit whose ``apps`` tree holds an entry named `bad_name` (git itself
    never writes one; ``hash-object --literally`` does)."""
    def write(kind: str, content: bytes) -> bytes:
        done = subprocess.run(["git", "-C", str(repository), "hash-object", "-w", "-t", kind,
                               "--literally", "--stdin"], input=content, check=True,
                              capture_output=True)
        return bytes.fromhex(done.stdout.decode().strip())

    blob = write("blob", b"x\n")
    apps = write("tree", b"100644 " + bad_name + b"\0" + blob + b"100644 ok.yaml\0" + blob)
    root = write("tree", b"40000 apps\0" + apps)
    commit = git(repository, "commit-tree", root.hex(), "-m", "crafted")
    git(repository, "update-ref", "refs/heads/main", commit)


@pytest.mark.parametrize("bad_name", [b".", b"..", b"a/b"])
def test_crafted_tree_entry_names_are_refused(origin: Origin, source: GitSource,
                                              bad_name: bytes) -> None:
    _craft_tree(origin.bare, bad_name)
    snapshot = source.fetch()

    with pytest.raises(PathEscapeError, match=rf"tree apps at .* has an entry named "
                                              rf"{re.escape(repr(bad_name.decode()))}; the "
                                              "repository is corrupt or crafted"):
        list(snapshot.walk(""))
    assert snapshot.read("apps/ok.yaml") == b"x\n"  # a lookup never asks for such a name


def test_an_empty_tree_entry_name_is_refused(origin: Origin, source: GitSource,
                                             objects: ObjectsKind) -> None:
    origin.commit(APPS)
    source.fetch()
    # git's own fetch refuses to send such a tree: only a tampered mirror has one.
    _craft_tree(source.mirror_path, b"")
    snapshot = source.snapshot("main")

    # libgit2 refuses to parse the tree at all; the cat-file parser reads it and
    # the walk refuses the name, as for any other crafted name.
    refusal = MirrorReadError if objects == "pygit2" else PathEscapeError
    with pytest.raises(refusal, match="corrupt or crafted"):
        list(snapshot.walk("apps"))
