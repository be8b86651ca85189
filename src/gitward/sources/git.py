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
never touch the network: they answer from what was last fetched. A branch
whose commit was read before is resolved from the ref files and that
commit's saved facts (`gitward.sources.snapshot`), so a command that finds
nothing new never loads libgit2; `remember` saves what a snapshot learnt.

What a snapshot reads comes from an object database (`objects=`, see
`gitward.sources.objects`): ``"pygit2"`` for the long-running agent, or
``"git"``, one ``git cat-file`` process, for a one-shot command. With
``"git"``, a command at a new commit (resolve a branch, tag or full SHA from
the ref files, read the commit's files and header) never loads libgit2
either; `close()` stops that process. What the files alone cannot settle
(an abbreviated SHA, a ref that is missing or does not lead to a commit), and
`commit`, `changed_paths`, `branches` and writing commits, use pygit2.

``url`` is the URL as shown to people (credentials masked): the real one only
ever reaches the git command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gitward.core.errors import SourceError
from gitward.sources.errors import RefNotFoundError
from gitward.sources.objects import ObjectDatabase, ObjectsKind
from gitward.sources.refs import RefUnsure, read_ref
from gitward.sources.remote import DEFAULT_TIMEOUT, ORIGIN_HEAD_REF, Remote
from gitward.sources.snapshot import KEPT_COMMITS, CommitFacts, FactsStore, GitSnapshot
from gitward.sources.urls import parse_repo_url

if TYPE_CHECKING:
    import pygit2

    from gitward.sources.trees import TreeReader

__all__ = ["GitSource"]

_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{4,40}$")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_BRANCHES_SHOWN = 8


class GitSource:
    """A repository reached through its bare mirror (implements `Source`)."""

    def __init__(self, url: str, state_dir: Path, *, timeout: float = DEFAULT_TIMEOUT,
                 objects: ObjectsKind = "pygit2") -> None:
        if objects not in ("pygit2", "git"):
            raise ValueError(f"objects={objects!r}: read objects with 'pygit2' or 'git'")
        repo_url = parse_repo_url(url)
        self.url = repo_url.display
        self.remote = Remote(repo_url, timeout)
        self.mirror_path = Path(state_dir).absolute() / "sources" / repo_url.mirror_name
        self.objects_kind: ObjectsKind = objects
        self._repository: pygit2.Repository | None = None
        self._objects: ObjectDatabase | None = None
        self._facts = FactsStore(self.mirror_path.with_name(self.mirror_path.name + ".facts"))
        self._known: dict[str, CommitFacts] = {}

    def __repr__(self) -> str:
        return f"GitSource({self.url!r})"

    @property
    def repository(self) -> pygit2.Repository:
        """The mirror, opened with pygit2; SourceError if nothing was fetched yet."""
        if self._repository is None:
            self._require_mirror()
            import pygit2

            self._repository = pygit2.Repository(str(self.mirror_path))
        return self._repository

    @property
    def objects(self) -> ObjectDatabase:
        """The object database snapshots read from (`objects=` chose which)."""
        if self._objects is None:
            if self.objects_kind == "git":
                from gitward.sources.catfile import CatFileObjects

                self._require_mirror()
                self._objects = CatFileObjects(self.mirror_path)
            else:
                from gitward.sources.pygit2_objects import Pygit2Objects

                self._objects = Pygit2Objects(self.repository)
        return self._objects

    def close(self) -> None:
        """Stop the ``git cat-file`` process, if one runs; later reads start it again."""
        if self._objects is not None:
            self._objects.close()

    def _require_mirror(self) -> None:
        if not (self.mirror_path / "HEAD").is_file():
            raise SourceError(f"{self.url} has not been fetched yet; fetch it first")

    def ensure_mirror(self) -> Path:
        """Create the empty bare mirror if it is missing; return its path."""
        if not (self.mirror_path / "HEAD").is_file():
            with self._fetch_lock():
                self._create_mirror_if_missing()
        return self.mirror_path

    def _create_mirror_if_missing(self, *, clone: bool = False) -> None:
        if (self.mirror_path / "HEAD").is_file():
            return
        if not (clone and self.remote.clone_mirror(self.mirror_path)):
            self.remote.init_mirror(self.mirror_path)

    def fetch(self, ref: str | None = None) -> GitSnapshot:
        """Fetch from the origin, then return the snapshot of `ref` (None = default branch)."""
        with self._fetch_lock():
            # The first fetch of an origin on this machine starts from a clone
            # sharing its objects (see `Remote.clone_mirror`); the fetch then
            # only sets the refs as every fetch does.
            self._create_mirror_if_missing(clone=True)
            if not self.remote.fetch_into(self.mirror_path):
                self._forget_origin_head()
            # Reopen: git wrote new packs and refs. Snapshots taken before keep their
            # database (a closed cat-file one restarts if they read again).
            self.close()
            self._repository = self._objects = None
        return self._snapshot_at(self.resolve(ref))

    def resolve(self, ref: str | None = None) -> str:
        """Full SHA of the commit `ref` names in the mirror, as last fetched.

        `ref` is a branch, a tag, a full ``refs/...`` name or a full or
        abbreviated SHA, tried in that order; None (or ``HEAD``) is the
        origin's default branch.
        """
        known = self._resolve_known(ref)
        if known is not None:
            return known
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
        return self._snapshot_at(self.resolve(revision))

    def _snapshot_at(self, sha: str) -> GitSnapshot:
        facts = self._facts_of(sha)
        if facts is not None:
            return GitSnapshot(sha, facts, lambda: self._reader(sha))
        snapshot = GitSnapshot.of(self._reader(sha))
        self._keep(sha, snapshot.facts)
        return snapshot

    def _reader(self, sha: str) -> TreeReader:
        from gitward.sources.trees import TreeReader

        return TreeReader(self.objects, sha)

    def remember(self, snapshot: GitSnapshot) -> None:
        """Save what `snapshot` learnt of its commit, for the next command to reuse."""
        if snapshot.facts.changed:
            # A cache: if it cannot be written, the next command reads the repository.
            with contextlib.suppress(OSError):
                self._facts.save(snapshot.revision, snapshot.facts)

    def commit(self, revision: str) -> pygit2.Commit:
        """The pygit2 commit of an already fetched `revision` (any ref `resolve` takes)."""
        import pygit2

        return self.repository[self.resolve(revision)].peel(pygit2.Commit)

    def _facts_of(self, sha: str) -> CommitFacts | None:
        if sha not in self._known:
            facts = self._facts.load(sha)
            if facts is None:
                return None
            self._keep(sha, facts)
        return self._known[sha]

    def _keep(self, sha: str, facts: CommitFacts) -> None:
        while len(self._known) >= KEPT_COMMITS:   # a long-running agent moves on
            del self._known[next(iter(self._known))]
        self._known[sha] = facts

    def _resolve_known(self, ref: str | None) -> str | None:
        """`ref` resolved from the ref files alone, in `resolve`'s order, when that
        settles it; else None, and `resolve` asks pygit2.

        The SHA a ref file holds must lead to a commit this mirror has: one whose
        facts are saved, or (with ``objects="git"``) one ``git cat-file`` peels to
        a commit, through annotated tags; so must a full SHA (``objects="git"``).
        """
        if ref is None or ref == "HEAD":
            names = [ORIGIN_HEAD_REF]
        elif "\0" in ref or not ref.strip():
            return None
        else:
            names = _ref_candidates(ref)
        for name in names:
            try:
                sha = read_ref(self.mirror_path, name)
            except RefUnsure:
                return None
            if sha is not None:
                return sha if self._facts_of(sha) is not None else self._peeled(sha)
        if ref is not None and _FULL_SHA.fullmatch(ref):
            # Saved facts alone do not prove that the mirror still has a commit
            # no ref names: only the object database can tell.
            return self._peeled(ref)
        return None

    def _peeled(self, object_id: str) -> str | None:
        """The commit `object_id` leads to, if ``git cat-file`` can tell (objects="git")."""
        if self.objects_kind != "git" or not (self.mirror_path / "HEAD").is_file():
            return None
        return self.objects.peel_to_commit(object_id)

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
        import pygit2

        for name in _ref_candidates(ref):
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
        import pygit2

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
        import pygit2

        repository = pygit2.Repository(str(self.mirror_path))
        if repository.references.get(ORIGIN_HEAD_REF) is not None:
            repository.references.delete(ORIGIN_HEAD_REF)


def _ref_candidates(ref: str) -> list[str]:
    """The full names `ref` may stand for, in the order `resolve` tries them."""
    names = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    return [ref, *names] if ref.startswith("refs/") else names
