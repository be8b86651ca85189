"""Rolling back through Git: a commit made in the mirror, pushed to the origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.sources import (
    GitSource,
    PushError,
    PushRejectedError,
    default_branch,
    push,
    restore_paths_commit,
)

from .conftest import Origin, git

GOOD = {"apps/web/a.yaml": "a1\n", "apps/web/b.yaml": "b1\n", "apps/db/x.yaml": "x1\n"}
BAD = {"apps/web/a.yaml": "a2\n", "apps/web/b.yaml": None, "apps/web/c.yaml": "c2\n",
       "apps/db/x.yaml": "x2\n"}


def test_restore_and_push_puts_the_old_directory_back(origin: Origin,
                                                      source: GitSource) -> None:
    good = origin.commit(GOOD)
    bad = origin.commit(BAD, "Break web")
    source.fetch()

    sha = restore_paths_commit(source, bad, good, ["apps/web"], "Roll back apps/web")
    assert sha is not None
    push(source, sha, default_branch(source))

    assert git(origin.bare, "rev-parse", "main") == sha
    assert git(origin.bare, "rev-parse", "main^") == bad
    assert origin.at("main", "apps/web") == origin.at(good, "apps/web")
    assert origin.at("main", "apps/db") == origin.at(bad, "apps/db")  # other apps untouched
    assert git(origin.bare, "log", "-1", "--format=%an <%ae>|%s", "main") == \
        "gitward <gitward@localhost>|Roll back apps/web"
    assert source.fetch().revision == sha  # the agent sees it like any other commit


def test_restore_adds_and_removes_whole_paths(origin: Origin, source: GitSource) -> None:
    good = origin.commit(GOOD)
    bad = origin.commit({"apps/cache/c.yaml": "new\n", "apps/db/x.yaml": None})
    source.fetch()

    sha = restore_paths_commit(source, bad, good, ["apps/cache", "apps/db/x.yaml"],
                               "Restore", author_name="Ops", author_email="ops@example.com")
    assert sha is not None
    restored = source.snapshot(sha)

    assert not restored.exists("apps/cache")         # absent at from_revision: removed
    assert restored.read("apps/db/x.yaml") == b"x1\n"  # absent at base: added
    assert restored.author == "Ops <ops@example.com>"
    assert restored.tree_id("") == source.snapshot(good).tree_id("")


def test_restore_with_nothing_to_change_returns_none(origin: Origin, source: GitSource) -> None:
    good = origin.commit(GOOD)
    other = origin.commit({"apps/db/x.yaml": "x2\n"})
    source.fetch()

    assert restore_paths_commit(source, other, good, ["apps/web"], "no-op") is None
    assert restore_paths_commit(source, other, good, ["apps/absent"], "no-op") is None


def test_push_race_is_rejected_and_a_retry_on_the_new_base_succeeds(
        origin: Origin, source: GitSource) -> None:
    good = origin.commit(GOOD)
    bad = origin.commit(BAD)
    source.fetch()
    sha = restore_paths_commit(source, bad, good, ["apps/web"], "Roll back")
    assert sha is not None
    moved = origin.commit({"apps/db/x.yaml": "x3\n"}, "Someone else pushed")

    with pytest.raises(PushRejectedError, match="moved on; fetch and retry"):
        push(source, sha, "main")
    assert git(origin.bare, "rev-parse", "main") == moved  # never forced

    base = source.fetch().revision
    retry = restore_paths_commit(source, base, good, ["apps/web"], "Roll back")
    assert retry is not None
    push(source, retry, "main")
    assert git(origin.bare, "rev-parse", "main^") == moved


def test_push_refused_by_the_server_is_a_push_error(origin: Origin, source: GitSource) -> None:
    good = origin.commit(GOOD)
    bad = origin.commit(BAD)
    source.fetch()
    sha = restore_paths_commit(source, bad, good, ["apps/web"], "Roll back")
    assert sha is not None
    hook = origin.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(PushError, match="pre-receive hook declined"):
        push(source, sha, "main")


def test_default_branch_asks_the_origin(tmp_path: Path, state_dir: Path) -> None:
    origin = Origin(tmp_path / "remote", branch="trunk")
    origin.commit(GOOD)
    assert default_branch(GitSource(str(origin.bare), state_dir)) == "trunk"
