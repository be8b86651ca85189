"""Fetching from a real origin and resolving what the user asked for."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitward.core.errors import SourceError
from gitward.sources import (
    FetchError,
    GitSource,
    ObjectsKind,
    RefNotFoundError,
    UnsupportedUrlError,
    open_source,
)

from .conftest import Origin, git


def test_first_fetch_reads_files_at_the_fetched_revision(origin: Origin, source: GitSource,
                                                          state_dir: Path) -> None:
    sha = origin.commit({"apps/web/a.yaml": "kind: File\n", "README": "hi\n"},
                        "Add web\n\nwith a body")

    snapshot = source.fetch()

    assert snapshot.revision == sha
    assert snapshot.subject == "Add web"
    assert snapshot.author == "t <t@t>"
    assert snapshot.committed_at > 0
    assert snapshot.read("apps/web/a.yaml") == b"kind: File\n"
    assert source.mirror_path.parent == state_dir / "sources"
    assert source.mirror_path.name.startswith("origin-")


def test_incremental_fetch_sees_the_new_commit(origin: Origin, source: GitSource) -> None:
    first = origin.commit({"a.yaml": "one\n"})
    assert source.fetch().revision == first
    assert source.fetch().revision == first  # nothing new: same commit

    second = origin.commit({"a.yaml": "two\n"})
    snapshot = source.fetch()

    assert snapshot.revision == second
    assert snapshot.read("a.yaml") == b"two\n"


def test_default_branch_is_the_origins_head(tmp_path: Path, state_dir: Path,
                                            objects: ObjectsKind) -> None:
    origin = Origin(tmp_path / "remote", branch="trunk")
    trunk = origin.commit({"a": "trunk\n"})
    origin.commit({"a": "other\n"}, branch="main")
    source = GitSource(str(origin.bare), state_dir, objects=objects)

    assert source.fetch().revision == trunk

    # The origin switches its default branch: the next fetch follows.
    git(origin.bare, "symbolic-ref", "HEAD", "refs/heads/main")
    assert source.fetch().read("a") == b"other\n"


def test_branch_tag_and_sha_refs(origin: Origin, source: GitSource) -> None:
    tagged = origin.commit({"a": "1\n"})
    git(origin.work, "tag", "-a", "v1", "-m", "release 1")
    git(origin.work, "tag", "light")
    git(origin.work, "push", "-q", "origin", "v1", "light")
    feature = origin.commit({"a": "feature\n"}, branch="feature")
    latest = origin.commit({"a": "2\n"})

    assert source.fetch().revision == latest
    assert source.fetch("v1").revision == tagged
    assert source.fetch("light").revision == tagged
    assert source.fetch("feature").revision == feature
    assert source.fetch("refs/heads/feature").revision == feature
    assert source.fetch(tagged).revision == tagged
    assert source.fetch(tagged[:7]).revision == tagged
    assert source.resolve("v1") == tagged  # no fetch needed once fetched
    assert source.snapshot(tagged[:10]).read("a") == b"1\n"


def test_unknown_ref_names_it_and_lists_branches(origin: Origin, source: GitSource) -> None:
    origin.commit({"a": "1\n"})
    origin.commit({"a": "2\n"}, branch="staging")

    with pytest.raises(RefNotFoundError) as caught:
        source.fetch("prod")

    message = str(caught.value)
    assert "'prod'" in message
    assert "main, staging" in message
    assert str(origin.bare) in message


def test_empty_origin_has_no_default_branch(origin: Origin, source: GitSource) -> None:
    with pytest.raises(RefNotFoundError, match=r"no default branch.*no branches yet"):
        source.fetch()


def test_unreachable_origin_raises_and_keeps_the_last_fetch(origin: Origin,
                                                            source: GitSource) -> None:
    good = origin.commit({"a": "good\n"})
    source.fetch()
    shutil.rmtree(origin.bare)

    with pytest.raises(FetchError) as caught:
        source.fetch()

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot fetch {origin.bare}: ")
    assert source.snapshot(good).read("a") == b"good\n"  # last good state still readable


def test_credentials_never_appear_in_messages(state_dir: Path) -> None:
    source = GitSource("https://user:s3cret@127.0.0.1:9/x.git", state_dir, timeout=20)

    with pytest.raises(FetchError) as caught:
        source.fetch()

    assert "s3cret" not in str(caught.value)
    assert "https://user:***@127.0.0.1:9/x.git" in str(caught.value)
    assert "s3cret" not in source.url
    assert "s3cret" not in str(source.mirror_path)


def test_not_yet_fetched_snapshot_says_so(source: GitSource) -> None:
    with pytest.raises(SourceError, match="not been fetched yet"):
        source.snapshot("main")


@pytest.mark.parametrize("url", [
    "ext::sh -c touch% /tmp/pwned",
    "fd::17",
    "git://example.com/repo.git",
    "ftp://example.com/repo.git",
    "ssh://-oProxyCommand=touch%20x/repo",
    "-oProxyCommand=touch x:repo",
    "",
])
def test_refused_url_schemes(url: str, state_dir: Path) -> None:
    with pytest.raises(UnsupportedUrlError, match="use https://"):
        open_source(url, state_dir)
    assert not state_dir.exists()  # refused before anything is created


def test_relative_local_path_is_made_absolute(origin: Origin, state_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sha = origin.commit({"a": "1\n"})
    monkeypatch.chdir(origin.bare.parent)

    source = open_source("origin.git", state_dir)
    monkeypatch.chdir(state_dir.parent)  # a later working directory must not matter

    assert source.url == str(origin.bare)
    assert source.fetch().revision == sha


def test_file_url_is_accepted(origin: Origin, state_dir: Path, objects: ObjectsKind) -> None:
    sha = origin.commit({"a": "1\n"})
    source = open_source(origin.bare.as_uri(), state_dir, objects=objects)
    assert source.fetch().read("a") == b"1\n"
    assert source.resolve() == sha
    source.close()


def test_a_hanging_origin_times_out_instead_of_blocking(state_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", "sleep 60;")  # an ssh server that never answers
    source = GitSource("ssh://git@git.example/ops.git", state_dir, timeout=0.5)
    started = time.monotonic()

    with pytest.raises(FetchError, match=r"timed out after 0.5s"):
        source.fetch()
    assert time.monotonic() - started < 5


def test_concurrent_fetches_of_one_mirror_all_succeed(origin: Origin, state_dir: Path,
                                                      objects: ObjectsKind) -> None:
    sha = origin.commit({"a": "1\n"})
    sources = [GitSource(str(origin.bare), state_dir, objects=objects) for _ in range(6)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        revisions = list(pool.map(lambda source: source.fetch().revision, sources))

    assert revisions == [sha] * 6
    for source in sources:
        source.close()


def _object_inodes(repository: Path) -> set[tuple[int, int]]:
    return {(found.stat().st_dev, found.stat().st_ino)
            for found in (repository / "objects").rglob("*") if found.is_file()}


def test_first_fetch_of_a_local_path_shares_the_origins_objects(origin: Origin,
                                                                source: GitSource) -> None:
    origin.commit({"a": "1\n"})
    partial = source.mirror_path.with_name(source.mirror_path.name + ".cloning")
    partial.mkdir(parents=True)   # left by a clone that was killed
    (partial / "junk").write_text("x")

    assert source.fetch().read("a") == b"1\n"

    # Hard links, as `git clone` of a path makes: no object was packed and sent.
    assert _object_inodes(origin.bare) & _object_inodes(source.mirror_path)
    assert not partial.exists()
    second = origin.commit({"a": "2\n"})   # later commits come by the usual fetch
    assert source.fetch().revision == second
    assert source.snapshot(second).read("a") == b"2\n"


def test_first_fetch_of_a_file_url_copies_objects(origin: Origin, state_dir: Path) -> None:
    origin.commit({"a": "1\n"})
    source = open_source(origin.bare.as_uri(), state_dir, objects="git")

    assert source.fetch().read("a") == b"1\n"

    assert not _object_inodes(origin.bare) & _object_inodes(source.mirror_path)
    source.close()


def test_first_fetch_of_a_path_that_is_no_repository_says_so(tmp_path: Path,
                                                             state_dir: Path) -> None:
    (tmp_path / "plain").mkdir()
    source = GitSource(str(tmp_path / "plain"), state_dir, objects="git")

    with pytest.raises(FetchError) as caught:
        source.fetch()

    assert str(caught.value).startswith(f"cannot fetch {tmp_path / 'plain'}: ")
    assert not source.mirror_path.with_name(source.mirror_path.name + ".cloning").exists()
