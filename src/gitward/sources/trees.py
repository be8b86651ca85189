"""A commit's files, read from its trees and blobs: what `GitSnapshot` asks on a miss.

`TreeReader` reads the repository at one commit straight from the bare
mirror's object database: there is no checkout, so reading is a tree lookup
plus a blob read, and two commits can be read side by side. The objects come
from an `ObjectDatabase` (`gitward.sources.objects`): pygit2 for the agent,
one ``git cat-file`` process for a one-shot command that should not load
libgit2. The rules below are written once, against that interface, so both
give the same answers; `gitward.sources.snapshot.GitSnapshot` opens a reader
only for what its per-commit facts do not already hold.

Paths from the repository are untrusted input, so every path goes through
`clean_repo_path` (no ``..``, no absolute paths, no NUL bytes) and symlinks
are followed only while they stay inside the repository: reading
``apps/web/base.yaml``, a symlink to ``../../shared/base.yaml``, returns the
content of ``shared/base.yaml``. A link whose target leaves the repository,
is absolute, or is part of a chain longer than `MAX_SYMLINK_HOPS` raises
`PathEscapeError` naming the link.
Submodules (gitlink entries) are not part of a snapshot: they are skipped by
`walk` and absent for `read`, `exists` and `tree_id`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping

from gitward.core.errors import PathEscapeError
from gitward.sources.objects import BLOB, BLOB_EXECUTABLE, LINK, TREE, ObjectDatabase, TreeEntry
from gitward.sources.paths import MAX_SYMLINK_HOPS

__all__ = ["TreeReader"]

_FILE_MODES = (BLOB, BLOB_EXECUTABLE)


class TreeReader:
    """The repository at commit `revision`, read from `objects`."""

    def __init__(self, objects: ObjectDatabase, revision: str) -> None:
        info = objects.commit(revision)
        self.revision = revision
        self.subject = info.subject
        self.author = info.author
        self.committed_at = info.committed_at
        self._objects = objects
        self._root: TreeEntry = (TREE, info.tree_id)
        self._entries: dict[str, Mapping[str, TreeEntry]] = {}  # by tree id
        # The tree id at each directory path reached without a symlink: "a/b/c"
        # then costs one name lookup in the cached tree of "a/b".
        self._trees: dict[str, str | None] = {"": info.tree_id}
        self._linking: dict[str, bool] = {}   # tree id -> holds a symlink directly

    def read(self, path: str) -> bytes:
        """Content of the file at clean `path`; FileNotFoundError if absent or a directory."""
        found = self._lookup(path)
        if found is None or found[0] not in _FILE_MODES:
            what = "a directory" if found is not None and found[0] == TREE \
                else "not in the repository"
            raise FileNotFoundError(f"{path}: {what} at {self.revision[:12]}")
        return self._objects.blob(found[1])

    def prefetch(self, paths: Iterable[str]) -> None:
        """Ask the object database for the blobs at clean `paths` in one go, if it
        can batch (`git cat-file` answers a pipelined batch without a round trip
        per object). Paths through symlinks, and anything absent, are left to
        `read` and its errors."""
        batch = getattr(self._objects, "prefetch", None)
        if batch is None:
            return
        found = (self._direct_entry(path) for path in paths)
        batch([entry[1] for entry in found if entry is not None and entry[0] in _FILE_MODES])

    def node(self, path: str) -> tuple[str, bool] | None:
        """(Git id, is a directory) of what clean `path` names, symlinks at `path`
        followed; None if nothing (or a submodule) is there."""
        found = self._lookup(path)
        if found is None or (found[0] != TREE and found[0] not in _FILE_MODES):
            return None
        return found[1], found[0] == TREE

    def dir_id(self, path: str) -> str | None:
        """Git id of the directory at clean `path` when no symlink is on the way
        to it or at it; None otherwise (absent, not a directory, or reached
        only through a symlink)."""
        return self._tree_at(path)

    def holds_links(self, path: str) -> bool:
        """Whether the directory `dir_id` finds at clean `path` has a symlink
        directly in it (False if there is none there)."""
        tree = self._tree_at(path)
        if tree is None:
            return False
        found = self._linking.get(tree)
        if found is None:   # asked once per directory of each file a render reads
            found = self._linking[tree] = any(mode == LINK for mode, _ in
                                              self._entries_of(tree).values())
        return found

    def walk(self, prefix: str) -> list[str]:
        """Files under clean `prefix` ('' = everything), recursive and sorted.

        Symlinks to files are listed (`read` follows them); symlinks to
        directories and dangling ones are not; links leaving the repository
        are listed so that reading them fails loudly.
        """
        found = self._lookup(prefix)
        if found is None or found[0] != TREE:
            return []
        files: list[str] = []
        self._collect_files(found[1], prefix, files)
        return sorted(files)

    def _entries_of(self, tree_id: str) -> Mapping[str, TreeEntry]:
        entries = self._entries.get(tree_id)
        if entries is None:
            entries = self._entries[tree_id] = self._objects.entries(tree_id)
        return entries

    def _lookup(self, path: str) -> TreeEntry | None:
        """What `path` names after following symlinks; None if absent."""
        if not path:
            return self._root
        found = self._direct_entry(path)
        if found is None or found[0] == LINK:
            return self._lookup_through_links(path, MAX_SYMLINK_HOPS)
        return found

    def _direct_entry(self, path: str) -> TreeEntry | None:
        """The entry named `path` in its directory, when no symlink leads there."""
        parent, _, name = path.rpartition("/")
        tree = self._tree_at(parent)
        return None if tree is None else self._entries_of(tree).get(name)

    def _tree_at(self, path: str) -> str | None:
        """The tree id at `path` when no symlink is on the way, else None (cached)."""
        if path in self._trees:
            return self._trees[path]
        parent, _, name = path.rpartition("/")
        above = self._tree_at(parent)
        entry = None if above is None else self._entries_of(above).get(name)
        tree = entry[1] if entry is not None and entry[0] == TREE else None
        self._trees[path] = tree
        return tree

    def _lookup_through_links(self, path: str, hops_left: int) -> TreeEntry | None:
        """Walk `path` one name at a time, following each symlink met on the way."""
        node = self._root
        names = path.split("/") if path else []
        for depth, name in enumerate(names):
            found = self._entries_of(node[1]).get(name) if node[0] == TREE else None
            if found is None:
                return None
            node = found
            if node[0] == LINK:
                link = "/".join(names[: depth + 1])
                if hops_left == 0:
                    raise PathEscapeError(f"symlink {link!r} at {self.revision[:12]} is part of a "
                                          f"chain longer than {MAX_SYMLINK_HOPS} links (a loop?); "
                                          "point it at the file itself")
                target = self._link_target(link, node[1])
                rest = "/".join([target, *names[depth + 1:]]).strip("/")
                return self._lookup_through_links(rest, hops_left - 1)
        return node

    def _link_target(self, link: str, blob_id: str) -> str:
        """The repository path a symlink points to, refusing targets outside the repository."""
        target = self._objects.blob(blob_id).decode("utf-8", "surrogateescape")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
        if "\0" in target or target.startswith("/") or resolved == ".." or \
                resolved.startswith("../"):
            raise PathEscapeError(f"symlink {link!r} at {self.revision[:12]} points to "
                                  f"{target!r}, outside the repository; make it a relative link "
                                  "to a file in the repository or copy the file in")
        return "" if resolved == "." else resolved

    def _collect_files(self, tree_id: str, prefix: str, files: list[str]) -> None:
        for name, (mode, object_id) in self._entries_of(tree_id).items():
            if name in ("", ".", "..") or "/" in name or "\0" in name:
                # Git itself never writes such names; a crafted tree could.
                raise PathEscapeError(f"tree {prefix or '/'} at {self.revision[:12]} has an "
                                      f"entry named {name!r}; the repository is corrupt or "
                                      "crafted, refusing to read it")
            path = f"{prefix}/{name}" if prefix else name
            if mode == TREE:
                self._collect_files(object_id, path, files)
            elif mode == LINK:
                if self._is_listable_link(path):
                    files.append(path)
            elif mode in _FILE_MODES:
                files.append(path)
            # else: a submodule (gitlink to a commit of another repository): not ours to read

    def _is_listable_link(self, path: str) -> bool:
        try:
            found = self._lookup_through_links(path, MAX_SYMLINK_HOPS)
        except PathEscapeError:
            return True  # listed, so that reading it refuses with the link's name
        return found is not None and found[0] in _FILE_MODES
