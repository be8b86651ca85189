"""The mirror's objects through pygit2 (libgit2 in the process): the agent's object database.

Once libgit2 is loaded (35-50 ms for a fresh process, paid once by the
long-running agent), every object is a C call away: a 1,000-entry tree is
turned into its ``name -> (mode, id)`` mapping in about 1 ms, a blob read
costs microseconds. Modes come back normalised by libgit2 itself; names,
messages and signatures are decoded from their raw bytes with the helpers of
`gitward.sources.objects`, exactly as the ``git cat-file`` database does.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pygit2

from gitward.sources.objects import (
    CommitInfo,
    TreeEntry,
    corrupt_object,
    decode_text,
    subject_of,
    unreadable_object,
)

__all__ = ["Pygit2Objects"]


class Pygit2Objects:
    """An `ObjectDatabase` over an open pygit2 repository."""

    def __init__(self, repository: pygit2.Repository) -> None:
        self._repository = repository
        self._mirror = Path(repository.path)

    def entries(self, tree_id: str) -> dict[str, TreeEntry]:
        tree = self._object(tree_id, "tree")
        assert isinstance(tree, pygit2.Tree)
        return {(entry.raw_name or b"").decode("utf-8", "surrogateescape"):
                (entry.filemode, str(entry.id)) for entry in tree}

    def blob(self, object_id: str) -> bytes:
        found = self._object(object_id, "blob")
        assert isinstance(found, pygit2.Blob)
        return found.data

    def commit(self, sha: str) -> CommitInfo:
        # pygit2's type stubs do not make Commit an Object, though it is one.
        found = cast(pygit2.Commit, self._object(sha, "commit"))
        encoding = found.message_encoding
        author = found.author
        name = decode_text(author.raw_name, encoding)
        email = decode_text(author.raw_email, encoding)
        return CommitInfo(str(found.tree_id), subject_of(decode_text(found.raw_message, encoding)),
                          f"{name} <{email}>", float(found.commit_time))

    def peel_to_commit(self, object_id: str) -> str | None:
        try:
            return str(self._repository[object_id].peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def close(self) -> None:
        """Nothing to release: the repository belongs to the `GitSource`."""

    def _object(self, object_id: str, kind: str) -> pygit2.Object:
        try:
            found = self._repository[object_id]
        except KeyError:
            raise unreadable_object(self._mirror, object_id, kind, None) from None
        except (ValueError, pygit2.GitError) as error:
            # libgit2 refuses to parse it (e.g. a tree entry with an empty name).
            raise corrupt_object(self._mirror, object_id, str(error)) from None
        if found.type_str != kind:
            raise unreadable_object(self._mirror, object_id, kind, found.type_str)
        return found
