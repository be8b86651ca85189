"""The repository at one commit, as renderers see it, remembered between runs.

A `GitSnapshot` answers `Snapshot`'s questions (read a file, is it there,
the Git id of a path, the files under a directory) for one commit. A
commit's content never changes, so every answer except file bytes is kept
in its `CommitFacts` and saved beside the mirror (`save`); the next command
at the same commit answers from those facts and reads no tree at all. Only a
miss opens a `gitward.sources.trees.TreeReader`, over pygit2 or ``git
cat-file`` (`gitward.sources.objects`).

Paths are cleaned first (`clean_repo_path`); a path that escapes the
repository raises `PathEscapeError` every time and is never remembered.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitward.core.errors import PathEscapeError
from gitward.sources.paths import MAX_SYMLINK_HOPS, clean_repo_path

if TYPE_CHECKING:
    from gitward.sources.trees import TreeReader

__all__ = ["MAX_SYMLINK_HOPS", "CommitFacts", "FactsStore", "GitSnapshot", "clean_repo_path"]

FACTS_FORMAT = 2
KEPT_COMMITS = 16


@dataclass
class CommitFacts:
    """What is known of one commit: its header and the answers read so far."""

    subject: str
    author: str
    committed_at: float
    nodes: dict[str, tuple[str, bool] | None] = field(default_factory=dict)
    walks: dict[str, list[str]] = field(default_factory=dict)
    dirs: dict[str, str | None] = field(default_factory=dict)   # `GitSnapshot.dir_id`
    changed: bool = False

    def dump(self) -> bytes:
        return marshal.dumps((FACTS_FORMAT, self.subject, self.author, self.committed_at,
                              self.nodes, self.walks, self.dirs))

    @classmethod
    def load(cls, data: bytes) -> CommitFacts | None:
        try:
            fmt, *rest = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
        if fmt != FACTS_FORMAT or len(rest) != 6:
            return None
        subject, author, committed_at, nodes, walks, dirs = rest
        return cls(subject, author, committed_at, nodes, walks, dirs)


class FactsStore:
    """`CommitFacts` of a mirror's recent commits, one small file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, revision: str) -> CommitFacts | None:
        try:
            return CommitFacts.load((self.directory / revision).read_bytes())
        except OSError:
            return None

    def save(self, revision: str, facts: CommitFacts) -> None:
        """Write `facts` (atomically) and keep only the newest `KEPT_COMMITS` files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{revision}.{os.getpid()}.tmp"
        tmp.write_bytes(facts.dump())
        os.replace(tmp, self.directory / revision)
        facts.changed = False
        entries = sorted(self.directory.iterdir(), key=_mtime, reverse=True)
        for old in entries[KEPT_COMMITS:]:
            old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class GitSnapshot:
    """Read-only view of the repository at `revision` (implements `Snapshot`)."""

    def __init__(self, revision: str, facts: CommitFacts,
                 open_reader: Callable[[], TreeReader], reader: TreeReader | None = None
                 ) -> None:
        self.revision = revision
        self.facts = facts
        self._open_reader = open_reader
        self._reader = reader

    @classmethod
    def of(cls, reader: TreeReader, facts: CommitFacts | None = None) -> GitSnapshot:
        """A snapshot around an open reader, with `facts` or fresh ones."""
        facts = facts or CommitFacts(reader.subject, reader.author, reader.committed_at,
                                     changed=True)
        return cls(reader.revision, facts, lambda: reader, reader)

    @property
    def subject(self) -> str:
        return self.facts.subject

    @property
    def author(self) -> str:
        return self.facts.author

    @property
    def committed_at(self) -> float:
        return self.facts.committed_at

    def __repr__(self) -> str:
        return f"GitSnapshot({self.revision[:12]} {self.subject!r})"

    @property
    def reader(self) -> TreeReader:
        if self._reader is None:
            self._reader = self._open_reader()
        return self._reader

    def read(self, path: str) -> bytes:
        """Content of the file at `path`; FileNotFoundError if absent or a directory."""
        return self.reader.read(clean_repo_path(path))

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the files at `paths` ahead, in one batch where the object database
        can (see `TreeReader.prefetch`); a render calls this before reading
        every ``source:`` of a manifest."""
        self.reader.prefetch(clean_repo_path(path) for path in paths)

    def exists(self, path: str) -> bool:
        return self._node(clean_repo_path(path)) is not None

    def is_dir(self, path: str) -> bool:
        node = self._node(clean_repo_path(path))
        return node is not None and node[1]

    def tree_id(self, path: str) -> str | None:
        """Git id of the tree or blob at `path` (a symlink at `path` itself is followed).

        A change anywhere below `path` changes it; note that a symlink *inside*
        `path` keeps its id when its target's content changes.
        """
        node = self._node(clean_repo_path(path))
        return None if node is None else node[0]

    def dir_id(self, path: str) -> str | None:
        """Git id of the directory at `path` reached without following a symlink
        (None if absent, not a directory, or only reachable through one).

        Unlike `tree_id`, an unchanged `dir_id` vouches for every entry directly
        in the directory as well, so long as none of them is a symlink
        (`plain_dirs`): a caller can check one id for many files."""
        dirs = self.facts.dirs
        if path in dirs:   # asked before, so clean already: no need to check it again
            return dirs[path]
        clean = clean_repo_path(path)
        if clean in dirs:
            return dirs[clean]
        found = dirs[clean] = self.reader.dir_id(clean)
        self.facts.changed = True
        return found

    def plain_dirs(self, paths: Iterable[str]) -> dict[str, str]:
        """Of the directories directly holding `paths`, those reachable without a
        symlink and with none directly in them, by `dir_id`. While such a
        directory keeps its id, every one of `paths` in it keeps its own."""
        parents: set[str] = set()
        for path in paths:
            with contextlib.suppress(PathEscapeError):
                parents.add(clean_repo_path(path).rpartition("/")[0])
        dirs: dict[str, str] = {}
        for parent in parents:
            found = self.dir_id(parent)
            if found is not None and not self.reader.holds_links(parent):
                dirs[parent] = found
        return dirs

    def walk(self, path: str) -> Iterator[str]:
        """Files under `path` ('' = everything), recursive and sorted, as repository paths
        (see `TreeReader.walk` for symlinks)."""
        prefix = clean_repo_path(path)
        files = self.facts.walks.get(prefix)
        if files is None:
            files = self.reader.walk(prefix)
            self.facts.walks[prefix] = files
            self.facts.changed = True
        yield from files

    def _node(self, path: str) -> tuple[str, bool] | None:
        nodes = self.facts.nodes
        if path in nodes:
            return nodes[path]
        found = self.reader.node(path)
        nodes[path] = found
        self.facts.changed = True
        return found
