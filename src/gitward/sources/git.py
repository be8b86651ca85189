"""A Git repository as gitward's source of truth.

`GitSource` is the first stage of the data flow: it keeps one bare mirror of
the origin under ``<state_dir>/sources/``, brings it up to date with an
incremental ``git fetch`` and hands out `GitSnapshot`s, each the repository at
one commit::

    source = GitSource("https://git.example/ops.git", state_dir)
    snapshot = source.fetch()            # the origin's default branch
    snapshot = source.fetch("v1.4.0")    # or a branch, a tag, a (short) SHA
    source.changed_paths(old_sha, snapshot.revision)   # {"apps/web/a.yaml", ...}

A failed fetch raises a `SourceError` and leaves the mirror as it was, so the
caller keeps working from the last good revision. `resolve` and `snapshot`
never touch the network: they answer from what was last fetched.

``url`` is the URL as shown to people (credentials masked): the real one only
ever reaches the git command line.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pygit2

from gitward.core.errors import SourceError
from gitward.sources.errors import RefNotFoundError
from gitward.sources.remote import DEFAULT_TIMEOUT, ORIGIN_HEAD_REF, Remote
from gitward.sources.snapshot import GitSnapshot
from gitward.sources.urls import parse_repo_url

__all__ = ["GitSource"]

_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{4,40}$")
_BRANCHES_SHOWN = 8


class GitSource:
    """A repository reached through its bare mirror (implements `Source`)."""

    def __init__(self, url: str, state_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        repo_url = parse_repo_url(url)
        self.url = repo_url.display
        self.remote = Remote(repo_url, timeout)
        self.mirror_path = Path(state_dir).absolute() / "sources" / repo_url.mirror_name
        self._repository: pygit2.Repository | None = None

    def __repr__(self) -> str:
        return f"GitSource({self.url!r})"

    @property
    def repository(self) -> pygit2.Repository:
        """The mirror, opened with pygit2; SourceError if nothing was fetched yet."""
        if self._repository is None:
            if not (self.mirror_path / "HEAD").is_file():
                raise SourceError(f"{self.url} has not been fetched yet; fetch it first")
            self._repository = pygit2.Repository(str(self.mirror_path))
        return self._repository

    def ensure_mirror(self) -> Path:
        """Create the empty bare mirror if it is missing; return its path."""
        if not (self.mirror_path / "HEAD").is_file():
            with self._fetch_lock():
                self._create_mirror_if_missing()
        return self.mirror_path

    def _create_mirror_if_missing(self) -> None:
        if not (self.mirror_path / "HEAD").is_file():
            pygit2.init_repository(str(self.mirror_path), bare=True)

    def fetch(self, ref: str | None = None) -> GitSnapshot:
        """Fetch from the origin, then return the snapshot of `ref` (None = default branch)."""
        with self._fetch_lock():
            self._create_mirror_if_missing()
            if not self.remote.fetch_into(self.mirror_path):
                self._forget_origin_head()
            self._repository = None  # reopen: new packs and refs were written by git
        return self.snapshot(self.resolve(ref))

    def resolve(self, ref: str | None = None) -> str:
        """Full SHA of the commit `ref` names in the mirror, as last fetched.

        `ref` is a branch, a tag, a full ``refs/...`` name or a full or
        abbreviated SHA, tried in that order; None (or ``HEAD``) is the
        origin's default branch.
        """
        repository = self.repository
        if ref is None or ref == "HEAD":
            head = repository.references.get(ORIGIN_HEAD_REF)
            if head is None:
                raise RefNotFoundError(f"{self.url} has no default branch (its HEAD names no "
                                       f"existing branch); name one: {self._branch_list()}")
            return self._commit_id(head, "the default branch")
        found = self._lookup_ref(ref)
        if found is None:
            raise RefNotFoundError(f"ref {ref!r} not found in {self.url} (branch, tag or commit "
                                   f"reachable from them); branches: {self._branch_list()}")
        return found

    def snapshot(self, revision: str) -> GitSnapshot:
        """The repository at an already fetched `revision` (any ref `resolve` takes)."""
        return GitSnapshot(self.repository, self.commit(revision))

    def commit(self, revision: str) -> pygit2.Commit:
        """The pygit2 commit of an already fetched `revision` (any ref `resolve` takes)."""
        return self.repository[self.resolve(revision)].peel(pygit2.Commit)

    def changed_paths(self, old: str, new: str) -> set[str]:
        """Paths added, modified or deleted between two commits (both sides of renames)."""
        # Unchanged subtrees are skipped by id, so the cost follows the change.
        diff = self.commit(old).tree.diff_to_tree(self.commit(new).tree)
        changed: set[str] = set()
        for delta in diff.deltas:
            changed.add(delta.old_file.path)
            changed.add(delta.new_file.path)
        return changed

    def branches(self) -> list[str]:
        """Branch names of the origin as last fetched, sorted."""
        prefix = "refs/heads/"
        return sorted(name.removeprefix(prefix) for name in self.repository.references
                      if name.startswith(prefix))

    def default_branch(self) -> str:
        """The branch the origin's HEAD names, asked of the origin now (for pushing to)."""
        branch = self.remote.head_branch(self.ensure_mirror())
        if branch is None:
            raise RefNotFoundError(f"{self.url} names no default branch (its HEAD points "
                                   "nowhere); name the branch explicitly")
        return branch

    def _lookup_ref(self, ref: str) -> str | None:
        if "\0" in ref or not ref.strip():
            raise RefNotFoundError(f"ref {ref!r} is empty or has a NUL byte; name a branch, "
                                   "tag or commit")
        references = self.repository.references
        candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        if ref.startswith("refs/"):
            candidates.insert(0, ref)
        for name in candidates:
            if not pygit2.reference_is_valid_name(name):
                continue
            reference = references.get(name)
            if reference is not None:
                return self._commit_id(reference, f"ref {ref!r}")
        if _HEX_PREFIX.match(ref):
            return self._lookup_commit_prefix(ref)
        return None

    def _lookup_commit_prefix(self, prefix: str) -> str | None:
        try:
            found = self.repository[prefix]
        except KeyError:
            return None
        except ValueError:
            raise RefNotFoundError(f"commit prefix {prefix!r} is ambiguous in {self.url}; "
                                   "give more characters of the SHA") from None
        return self._commit_id(found, f"{prefix!r}")

    def _commit_id(self, found: pygit2.Reference | pygit2.Object, what: str) -> str:
        """The commit `found` leads to, through annotated tags."""
        try:
            return str(found.peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError):
            raise RefNotFoundError(f"{what} in {self.url} does not point to a commit; name a "
                                   "branch, a tag of a commit, or a commit") from None

    def _branch_list(self) -> str:
        names = self.branches()
        if not names:
            return "none (the repository has no branches yet)"
        shown = ", ".join(names[:_BRANCHES_SHOWN])
        hidden = len(names) - _BRANCHES_SHOWN
        return f"{shown} and {hidden} more" if hidden > 0 else shown

    @contextmanager
    def _fetch_lock(self) -> Iterator[None]:
        """One fetch per mirror at a time, across threads and processes (agent and CLI).

        Git would otherwise fail the second fetch on its ref locks.
        """
        lock_path = self.mirror_path.with_name(self.mirror_path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def _forget_origin_head(self) -> None:
        # A stale default-branch commit must not outlive the branch it came from.
        repository = pygit2.Repository(str(self.mirror_path))
        if repository.references.get(ORIGIN_HEAD_REF) is not None:
            repository.references.delete(ORIGIN_HEAD_REF)
