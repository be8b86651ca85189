"""Real Git origins for source tests: a bare repository plus a work clone that pushes to it.

`source` comes once per object database (``objects="pygit2"`` and ``"git"``),
so every test that reads through it holds both to the same answers.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitward.sources import GitSource, ObjectsKind


def git(cwd: Path, *args: str) -> str:
    """Run git as a test user would, failing the test on error; stdout stripped."""
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True)
    return done.stdout.strip()


@dataclass(frozen=True)
class Link:
    """A symlink to write into the work tree, pointing at `target`."""

    target: str


class Origin:
    """A bare origin repository and a work tree to commit and push from."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        self.branch = branch
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "--bare", "-b", branch, str(self.bare))
        git(root, "init", "-q", "-b", branch, str(self.work))
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, files: Mapping[str, str | Link | None], message: str = "change",
               branch: str | None = None) -> str:
        """Write (None = delete) `files`, commit, push to `branch`; return the new SHA."""
        for path, content in files.items():
            target = self.work / path
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            if isinstance(content, Link):
                os.symlink(content.target, target)
            else:
                target.write_text(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", f"HEAD:refs/heads/{branch or self.branch}")
        return git(self.work, "rev-parse", "HEAD")

    def at(self, revision: str, path: str) -> str:
        """Object id of `path` at `revision` in the origin, as git itself sees it."""
        return git(self.bare, "rev-parse", f"{revision}:{path}")


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path / "remote")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(params=["pygit2", "git"])
def objects(request: pytest.FixtureRequest) -> ObjectsKind:
    """Each object database in turn."""
    kind: ObjectsKind = request.param
    return kind


@pytest.fixture
def source(origin: Origin, state_dir: Path, objects: ObjectsKind) -> Iterator[GitSource]:
    source = GitSource(str(origin.bare), state_dir, objects=objects)
    yield source
    source.close()
