"""Reading through ``git cat-file`` (objects="git"): a one-shot command never loads
libgit2, and the git process never outlives its reader."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitward.sources import GitSource, MirrorReadError, RefNotFoundError
from gitward.sources.catfile import CatFileObjects

from .conftest import Link, Origin, git

FILES = {"apps/web/a.yaml": "a\n", "apps/web/deep/b.yaml": "b\n", "shared/c.yaml": "c\n",
         "apps/web/link.yaml": Link("../../shared/c.yaml"), "apps/prod": Link("web")}

# A fresh interpreter does what a one-shot `gitward sync` does at a new commit.
_ONE_SHOT = """
import json, sys
from pathlib import Path
from gitward.sources import GitSource
source = GitSource(sys.argv[1], Path(sys.argv[2]), objects="git")
ref = sys.argv[3] if len(sys.argv) > 3 else None
snap = source.fetch(ref)
answers = {"revision": snap.revision, "resolved": source.resolve(ref),
           "subject": snap.subject, "author": snap.author,
           "web": snap.tree_id("apps/web"), "prod": snap.tree_id("apps/prod"),
           "walk": list(snap.walk("apps")), "link": snap.read("apps/web/link.yaml").decode(),
           "b": snap.read("apps/prod/deep/b.yaml").decode(), "missing": snap.exists("nope")}
source.remember(snap)
source.close()
print(json.dumps({"answers": answers, "pygit2": "pygit2" in sys.modules}))
"""


def _one_shot(origin: Origin, state_dir: Path, *ref: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _ONE_SHOT, str(origin.bare), str(state_dir),
                           *ref], check=True, capture_output=True, text=True)
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _alive(pid: int) -> bool:
    """Whether process `pid` exists at all (a zombie counts: it was not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def mirrored(origin: Origin, state_dir: Path) -> Origin:
    """An origin already mirrored once (what every command after the first finds)."""
    origin.commit({"apps/web/a.yaml": "old\n"})
    GitSource(str(origin.bare), state_dir).fetch()
    return origin


def test_a_command_at_a_new_commit_reads_it_without_libgit2(mirrored: Origin,
                                                           state_dir: Path) -> None:
    sha = mirrored.commit(FILES, "Add web\n\nwith a body")

    result = _one_shot(mirrored, state_dir)

    assert result["pygit2"] is False
    assert result["answers"] == {
        "revision": sha, "resolved": sha, "subject": "Add web", "author": "t <t@t>",
        "web": mirrored.at(sha, "apps/web"), "prod": mirrored.at(sha, "apps/web"),
        "walk": ["apps/web/a.yaml", "apps/web/deep/b.yaml", "apps/web/link.yaml"],
        "link": "c\n", "b": "b\n", "missing": False}


@pytest.mark.parametrize("ref", ["v1", "v1-of-v1", "light", "refs/tags/v1", "main"])
def test_branches_and_annotated_tags_resolve_without_libgit2(mirrored: Origin, state_dir: Path,
                                                            ref: str) -> None:
    sha = mirrored.commit(FILES)
    git(mirrored.work, "tag", "-a", "v1", "-m", "release 1")
    git(mirrored.work, "tag", "-a", "v1-of-v1", "v1", "-m", "a tag of a tag")
    git(mirrored.work, "tag", "light")
    git(mirrored.work, "push", "-q", "origin", "v1", "v1-of-v1", "light")

    result = _one_shot(mirrored, state_dir, ref)

    answers = result["answers"]
    assert isinstance(answers, dict)
    assert answers["revision"] == answers["resolved"] == sha
    assert result["pygit2"] is False


def test_a_full_sha_resolves_without_libgit2_a_prefix_through_pygit2(
        mirrored: Origin, state_dir: Path) -> None:
    sha = mirrored.commit(FILES)
    assert _one_shot(mirrored, state_dir, sha)["pygit2"] is False
    prefixed = _one_shot(mirrored, state_dir, sha[:10])
    assert prefixed["pygit2"] is True
    answers = prefixed["answers"]
    assert isinstance(answers, dict) and answers["revision"] == sha


def test_a_ref_to_a_tree_is_refused_as_with_pygit2(mirrored: Origin, state_dir: Path) -> None:
    mirrored.commit(FILES)
    tree = mirrored.at("main", "apps")
    git(mirrored.bare, "update-ref", "refs/tags/tree", tree)
    messages = []
    for objects in ("pygit2", "git"):
        source = GitSource(str(mirrored.bare), state_dir, objects=objects)  # type: ignore[arg-type]
        source.fetch()
        with pytest.raises(RefNotFoundError) as caught:
            source.resolve("tree")
        messages.append(str(caught.value))
        source.close()
    assert messages[0] == messages[1]
    assert "does not point to a commit" in messages[0]


def test_close_ends_the_git_process_and_a_later_read_starts_another(
        origin: Origin, state_dir: Path) -> None:
    origin.commit(FILES)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    snapshot = source.fetch()
    objects = source.objects
    assert isinstance(objects, CatFileObjects)
    first = objects.pid
    assert first is not None and _alive(first)

    source.close()
    assert objects.pid is None
    assert not _alive(first)  # ended and reaped: no zombie left behind

    assert snapshot.read("apps/web/a.yaml") == b"a\n"  # closing is not final
    second = objects.pid
    assert second is not None and second != first
    source.close()
    assert not _alive(second)


def test_an_unreferenced_reader_ends_its_git_process(origin: Origin, state_dir: Path) -> None:
    origin.commit(FILES)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    snapshot = source.fetch()
    pid = source.objects.pid  # type: ignore[attr-defined]
    assert pid is not None and _alive(pid)

    del source, snapshot
    gc.collect()
    assert not _alive(pid)


def test_a_fetch_restarts_the_process_on_the_new_packs(origin: Origin, state_dir: Path) -> None:
    origin.commit(FILES)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    source.fetch().read("apps/web/a.yaml")
    old = source.objects.pid  # type: ignore[attr-defined]
    assert old is not None
    origin.commit({"apps/web/a.yaml": "a2\n"})

    assert source.fetch().read("apps/web/a.yaml") == b"a2\n"
    assert not _alive(old)
    source.close()


def test_a_killed_git_fails_one_read_then_the_next_starts_afresh(origin: Origin,
                                                                 state_dir: Path) -> None:
    origin.commit(FILES)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    snapshot = source.fetch()
    pid = source.objects.pid  # type: ignore[attr-defined]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    with pytest.raises(MirrorReadError, match=r"git cat-file cannot read the mirror .*git fsck"):
        snapshot.read("apps/web/a.yaml")
    assert not _alive(pid)
    assert snapshot.read("apps/web/a.yaml") == b"a\n"
    source.close()


def test_missing_objects_and_wrong_kinds_are_mirror_read_errors(origin: Origin,
                                                               state_dir: Path) -> None:
    sha = origin.commit(FILES)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    source.fetch()
    objects = source.objects

    with pytest.raises(MirrorReadError, match=f"object {'0' * 40} is missing from the mirror"):
        objects.blob("0" * 40)
    with pytest.raises(MirrorReadError, match="is a commit where a blob was expected"):
        objects.blob(sha)
    with pytest.raises(MirrorReadError, match="not a full object id"):
        objects.blob(f"{sha}\n{sha}")  # a second request smuggled in the pipe
    assert objects.peel_to_commit("0" * 40) is None
    assert objects.commit(sha).subject == "change"  # the process still answers in step
    source.close()


def test_threads_share_one_process(origin: Origin, state_dir: Path) -> None:
    files = {f"apps/app{i}/config.yaml": f"app {i}\n" for i in range(40)}
    origin.commit(files)
    source = GitSource(str(origin.bare), state_dir, objects="git")
    snapshot = source.fetch()

    with ThreadPoolExecutor(max_workers=8) as pool:
        contents = list(pool.map(snapshot.read, files))

    assert contents == [content.encode() for content in files.values()]
    source.close()


def test_a_callers_git_dir_does_not_redirect_reads(origin: Origin, state_dir: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    origin.commit(FILES)
    other = Origin(tmp_path / "other")
    other.commit({"apps/web/a.yaml": "other\n"})
    monkeypatch.setenv("GIT_DIR", str(other.bare))  # as inside a Git hook
    source = GitSource(str(origin.bare), state_dir, objects="git")
    assert source.fetch().read("apps/web/a.yaml") == b"a\n"
    source.close()


def test_an_unknown_object_database_is_refused(state_dir: Path) -> None:
    with pytest.raises(ValueError, match="'pygit2' or 'git'"):
        GitSource("/tmp/repo.git", state_dir, objects="libgit3")  # type: ignore[arg-type]


def test_git_refusing_to_start_says_why(tmp_path: Path) -> None:
    objects = CatFileObjects(tmp_path / "not-a-mirror")
    with pytest.raises(MirrorReadError, match=r"cannot read the mirror .*not-a-mirror: cannot "
                                              r"change to .*; check it with `git fsck`"):
        objects.blob("0" * 40)
    assert objects.pid is None


def test_git_missing_from_path_says_so(origin: Origin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MirrorReadError, match="install git or put it on PATH"):
        CatFileObjects(origin.bare).blob("0" * 40)


def test_files_read_ahead_in_batches_read_as_without(origin: Origin, state_dir: Path) -> None:
    files = {f"files/f{i}.txt": f"file {i}\n" * (i % 7 + 1) for i in range(600)}
    sha = origin.commit({**files, **FILES})
    source = GitSource(str(origin.bare), state_dir, objects="git")
    snapshot = source.fetch()
    # More than one batch; a link and a path that is not there are left to `read`.
    snapshot.prefetch([*files, "apps/web/link.yaml", "nope.txt", "files/f3.txt"])
    objects = source.objects
    objects.prefetch(["0" * 40, sha])                   # a missing object and a commit

    assert [snapshot.read(path) for path in files] == [text.encode() for text in files.values()]
    assert snapshot.read("apps/web/link.yaml") == b"c\n"
    with pytest.raises(FileNotFoundError):
        snapshot.read("nope.txt")
    with pytest.raises(MirrorReadError, match=f"object {'0' * 40} is missing from the mirror"):
        objects.blob("0" * 40)
    with pytest.raises(MirrorReadError, match="is a commit where a blob was expected"):
        objects.blob(sha)
    assert snapshot.read("files/f3.txt") == files["files/f3.txt"].encode()   # read again
    source.close()
