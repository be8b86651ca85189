"""Commit facts: a command at a commit read before answers without loading libgit2,
and never with another commit's answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitward.sources import GitSource, ObjectsKind
from gitward.sources.refs import RefUnsure, read_ref

from .conftest import Link, Origin, git

FILES = {"gitward.yaml": "apps: {}\n", "apps/web/a.yaml": "a\n", "apps/web/b.yaml": "b\n",
         "shared/c.yaml": "c\n", "apps/web/link.yaml": Link("../../shared/c.yaml")}

# Runs in a fresh interpreter: fetch, ask what a sync of an unchanged app asks,
# and report the answers and whether libgit2 was loaded.
_PROBE = """
import json, sys
from pathlib import Path
from gitward.sources import GitSource, ObjectsKind
source = GitSource(sys.argv[1], Path(sys.argv[2]), objects=sys.argv[3])
snap = source.fetch(sys.argv[4] if len(sys.argv) > 4 else None)
answers = {"revision": snap.revision, "subject": snap.subject,
           "web": snap.tree_id("apps/web"), "link": snap.tree_id("apps/web/link.yaml"),
           "walk": list(snap.walk("apps/web")), "missing": snap.exists("nope"),
           "dir": snap.is_dir("apps/web"), "dir_id": snap.dir_id("shared"),
           "linked_dir": snap.dir_id("apps/web/link.yaml")}
source.remember(snap)
print(json.dumps({"answers": answers, "pygit2": "pygit2" in sys.modules}))
"""


def _probe(origin: Origin, state_dir: Path, *ref: str,
           objects: ObjectsKind = "pygit2") -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(origin.bare), str(state_dir),
                           objects, *ref], check=True, capture_output=True, text=True)
    found: dict[str, object] = json.loads(done.stdout)
    return found


def test_a_second_command_at_the_same_commit_does_not_load_libgit2(
        origin: Origin, state_dir: Path) -> None:
    sha = origin.commit(FILES, "first")
    first = _probe(origin, state_dir)
    second = _probe(origin, state_dir)
    assert first["pygit2"] is True
    assert second["pygit2"] is False
    assert second["answers"] == first["answers"]
    answers = second["answers"]
    assert isinstance(answers, dict)
    assert answers["revision"] == sha and answers["subject"] == "first"
    assert answers["web"] == origin.at(sha, "apps/web")
    assert answers["link"] == origin.at(sha, "shared/c.yaml")   # followed, as pygit2 does
    assert answers["walk"] == ["apps/web/a.yaml", "apps/web/b.yaml", "apps/web/link.yaml"]
    assert answers["missing"] is False and answers["dir"] is True
    assert answers["dir_id"] == origin.at(sha, "shared") and answers["linked_dir"] is None


def test_a_new_commit_is_read_again_not_answered_from_the_old_one(
        origin: Origin, state_dir: Path) -> None:
    origin.commit(FILES)
    _probe(origin, state_dir)
    sha = origin.commit({"apps/web/b.yaml": "b2\n", "apps/web/new.yaml": "n\n"}, "second")
    after = _probe(origin, state_dir)
    answers = after["answers"]
    assert isinstance(answers, dict)
    assert after["pygit2"] is True
    assert answers["revision"] == sha and answers["subject"] == "second"
    assert answers["web"] == origin.at(sha, "apps/web")
    assert "apps/web/new.yaml" in answers["walk"]  # type: ignore[operator]


def test_a_tag_or_branch_is_resolved_from_ref_files(origin: Origin, state_dir: Path) -> None:
    sha = origin.commit(FILES)
    git(origin.work, "tag", "v1")
    git(origin.work, "push", "-q", "origin", "v1")
    _probe(origin, state_dir, "v1")
    again = _probe(origin, state_dir, "v1")
    answers = again["answers"]
    assert isinstance(answers, dict)
    assert answers["revision"] == sha and again["pygit2"] is False


def test_unreadable_facts_are_a_miss_not_an_error(origin: Origin, state_dir: Path) -> None:
    sha = origin.commit(FILES)
    _probe(origin, state_dir)
    facts = next(state_dir.glob("sources/*.facts"))
    (facts / sha).write_bytes(b"not marshal data")
    again = _probe(origin, state_dir)
    answers = again["answers"]
    assert isinstance(answers, dict)
    assert again["pygit2"] is True and answers["revision"] == sha


def test_reads_still_return_bytes_after_answers_came_from_facts(
        origin: Origin, state_dir: Path, objects: ObjectsKind) -> None:
    origin.commit(FILES)
    first = GitSource(str(origin.bare), state_dir, objects=objects)
    snap = first.fetch()
    snap.tree_id("apps/web")
    first.remember(snap)
    second = GitSource(str(origin.bare), state_dir, objects=objects)
    assert second.fetch().read("apps/web/link.yaml") == b"c\n"
    assert second.fetch().read("apps/web/a.yaml") == b"a\n"
    first.close()
    second.close()


def test_both_object_databases_learn_the_same_facts(origin: Origin, tmp_path: Path) -> None:
    sha = origin.commit(FILES, "first\n\nbody")
    answers = {objects: _probe(origin, tmp_path / objects, objects=objects)["answers"]
               for objects in ("pygit2", "git")}
    assert answers["git"] == answers["pygit2"]
    facts = {objects: (next((tmp_path / objects).glob("sources/*.facts")) / sha).read_bytes()
             for objects in ("pygit2", "git")}
    assert facts["git"] == facts["pygit2"]


def test_read_ref_loose_packed_symbolic_and_absent(tmp_path: Path) -> None:
    sha, other = "a" * 40, "b" * 40
    (tmp_path / "refs/heads").mkdir(parents=True)
    (tmp_path / "refs/heads/main").write_text(sha + "\n")
    (tmp_path / "refs/heads/alias").write_text("ref: refs/heads/main\n")
    (tmp_path / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{other} refs/tags/v1\n^{sha}\n")
    assert read_ref(tmp_path, "refs/heads/main") == sha
    assert read_ref(tmp_path, "refs/heads/alias") == sha
    assert read_ref(tmp_path, "refs/tags/v1") == other
    assert read_ref(tmp_path, "refs/heads/absent") is None
    (tmp_path / "refs/heads/broken").write_text("not a sha\n")
    (tmp_path / "refs/heads/dangling").write_text("ref: refs/heads/gone\n")
    for unsure in ("refs/heads/broken", "refs/heads/dangling", "refs/heads/../x",
                   "refs/heads/a b"):
        with pytest.raises(RefUnsure):
            read_ref(tmp_path, unsure)
