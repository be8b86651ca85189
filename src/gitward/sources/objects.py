"""Object databases: where a `TreeReader` gets a commit's trees, blobs and header from.

The rules for reading a commit (paths, symlinks, submodules) live once, in
`gitward.sources.trees`, written against `ObjectDatabase`: four questions
asked by object id (hex). Two implementations answer them identically, and
the source tests run against both:

- ``"pygit2"`` (`gitward.sources.pygit2_objects`): libgit2 in the process.
  Fastest per object, but loading it costs a fresh process 35-50 ms: the
  choice of the long-running agent.
- ``"git"`` (`gitward.sources.catfile`): one ``git cat-file --batch``
  process. No libgit2 to load: the choice of a one-shot command.

Tree entries come back as ``name -> (mode, id)`` with git's file modes as
ints, normalised the way libgit2 does (`TREE`, `BLOB`, `BLOB_EXECUTABLE`,
`LINK`, `GITLINK`); names are decoded as UTF-8 with ``surrogateescape``, so
no name is ever lost or merged with another. A missing object, or one of
another kind than asked for, raises `MirrorReadError` from either database.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from gitward.sources.errors import MirrorReadError

__all__ = ["BLOB", "BLOB_EXECUTABLE", "GITLINK", "LINK", "TREE", "CommitInfo", "ObjectDatabase",
           "ObjectsKind", "TreeEntry", "corrupt_object", "decode_text", "subject_of",
           "unreadable_object"]

# The file modes of tree entries, as libgit2 normalises them.
TREE = 0o040000
BLOB = 0o100644
BLOB_EXECUTABLE = 0o100755
LINK = 0o120000
GITLINK = 0o160000  # a submodule: a commit of another repository

TreeEntry = tuple[int, str]
"""(file mode, object id) of one entry of a tree."""

ObjectsKind = Literal["pygit2", "git"]


class CommitInfo(NamedTuple):
    """What a snapshot shows of its commit besides the files."""

    tree_id: str
    subject: str
    author: str  # "Name <email>"
    committed_at: float  # the committer's time, seconds since the epoch


class ObjectDatabase(Protocol):
    """A repository's objects, by full hex id."""

    def entries(self, tree_id: str) -> Mapping[str, TreeEntry]:
        """The entries of a tree, by name (the caller caches them per tree id)."""
        ...

    def blob(self, object_id: str) -> bytes:
        """The content of a blob."""
        ...

    def commit(self, sha: str) -> CommitInfo:
        """The header of a commit."""
        ...

    def peel_to_commit(self, object_id: str) -> str | None:
        """The commit `object_id` is or leads to through annotated tags; None if it is
        missing or leads elsewhere (the caller then asks pygit2 for the exact error)."""
        ...

    def close(self) -> None:
        """Release what the database holds open; it reopens if used again."""
        ...


def decode_text(raw: bytes, encoding: str | None) -> str:
    """A commit's message or name, decoded as pygit2 does (its ``encoding`` header)."""
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # an encoding Python does not know
        return raw.decode("utf-8", "replace")


def subject_of(message: str) -> str:
    """The first line of a commit message, blank lines around it dropped."""
    message = message.strip()
    return message.splitlines()[0] if message else ""


def unreadable_object(mirror: Path, object_id: str, expected: str,
                      found: str | None) -> MirrorReadError:
    """The error for an object that is missing (`found` None) or not a `expected`."""
    if found is None:
        return MirrorReadError(f"object {object_id} is missing from the mirror {mirror}; it "
                               "is incomplete or corrupt: delete it and fetch again")
    return MirrorReadError(f"object {object_id} in the mirror {mirror} is a {found} where a "
                           f"{expected} was expected; the repository is corrupt or crafted")


def corrupt_object(mirror: Path, object_id: str, why: str) -> MirrorReadError:
    """The error for an object that cannot be parsed."""
    return MirrorReadError(f"object {object_id} in the mirror {mirror} cannot be parsed "
                           f"({why}); the repository is corrupt or crafted")
