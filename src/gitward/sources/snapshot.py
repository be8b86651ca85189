"""The repository at one commit, read straight from Git objects.

A `GitSnapshot` is what renderers see: files by repository-relative path, read
from the bare mirror's object database through pygit2. There is no checkout,
so reading is as cheap as a tree lookup plus a blob read, and two snapshots of
different commits can be read side by side.

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
from collections.abc import Iterator

import pygit2
from pygit2.enums import FileMode

from gitward.core.errors import PathEscapeError

__all__ = ["MAX_SYMLINK_HOPS", "GitSnapshot", "clean_repo_path"]

MAX_SYMLINK_HOPS = 8


def clean_repo_path(path: str) -> str:
    """`path` as a canonical repository-relative path ('' is the root).

    >>> clean_repo_path("apps//web/./")
    'apps/web'
    """
    if "\0" in path:
        raise PathEscapeError(f"path {path!r} contains a NUL byte; remove it")
    if path.startswith("/"):
        raise PathEscapeError(f"path {path!r} is absolute; repository paths are relative to "
                              "its root, e.g. apps/web")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(f"path {path!r} climbs with '..'; name a path inside the repository")
    return "/".join(parts)


class GitSnapshot:
    """Read-only view of the repository at `revision` (implements `Snapshot`)."""

    def __init__(self, repository: pygit2.Repository, commit: pygit2.Commit) -> None:
        self.revision = str(commit.id)
        message = commit.message.strip()
        self.subject = message.splitlines()[0] if message else ""
        self.author = f"{commit.author.name} <{commit.author.email}>"
        self.committed_at = float(commit.commit_time)
        self._repository = repository
        self._root = commit.tree
        # pygit2 resolves "a/b/c" by re-reading every tree on the way (~170 us on
        # a 1,000-entry directory); one name inside a cached tree takes ~0.3 us.
        self._trees: dict[str, pygit2.Tree | None] = {"": self._root}

    def __repr__(self) -> str:
        return f"GitSnapshot({self.revision[:12]} {self.subject!r})"

    def read(self, path: str) -> bytes:
        """Content of the file at `path`; FileNotFoundError if absent or a directory."""
        found = self._lookup(clean_repo_path(path))
        if not isinstance(found, pygit2.Blob):
            what = "a directory" if isinstance(found, pygit2.Tree) else "not in the repository"
            raise FileNotFoundError(f"{path}: {what} at {self.revision[:12]}")
        return found.data

    def exists(self, path: str) -> bool:
        return isinstance(self._lookup(clean_repo_path(path)), pygit2.Blob | pygit2.Tree)

    def is_dir(self, path: str) -> bool:
        return isinstance(self._lookup(clean_repo_path(path)), pygit2.Tree)

    def walk(self, path: str) -> Iterator[str]:
        """Files under `path` ('' = everything), recursive and sorted, as repository paths.

        Symlinks to files are listed (`read` follows them); symlinks to
        directories and dangling ones are not; links leaving the repository
        are listed so that reading them fails loudly.
        """
        prefix = clean_repo_path(path)
        found = self._lookup(prefix)
        if not isinstance(found, pygit2.Tree):
            return
        files: list[str] = []
        self._collect_files(found, prefix, files)
        yield from sorted(files)

    def tree_id(self, path: str) -> str | None:
        """Git id of the tree or blob at `path` (a symlink at `path` itself is followed).

        Cheap: one tree lookup. A change anywhere below `path` changes it;
        note that a symlink *inside* `path` keeps its id when its target's
        content changes.
        """
        found = self._lookup(clean_repo_path(path))
        return str(found.id) if isinstance(found, pygit2.Blob | pygit2.Tree) else None

    def _lookup(self, path: str) -> pygit2.Object | None:
        """What `path` names after following symlinks; None if absent."""
        if not path:
            return self._root
        parent, _, name = path.rpartition("/")
        tree = self._tree_at(parent)
        found = tree[name] if tree is not None and name in tree else None
        if found is None or found.filemode == FileMode.LINK:
            return self._lookup_through_links(path, MAX_SYMLINK_HOPS)
        return found

    def _tree_at(self, path: str) -> pygit2.Tree | None:
        """The tree at `path` when no symlink is on the way, else None (cached)."""
        if path in self._trees:
            return self._trees[path]
        parent, _, name = path.rpartition("/")
        above = self._tree_at(parent)
        entry = above[name] if above is not None and name in above else None
        tree = entry if isinstance(entry, pygit2.Tree) else None
        self._trees[path] = tree
        return tree

    def _lookup_through_links(self, path: str, hops_left: int) -> pygit2.Object | None:
        """Walk `path` one name at a time, following each symlink met on the way."""
        node: pygit2.Object = self._root
        names = path.split("/") if path else []
        for depth, name in enumerate(names):
            if not isinstance(node, pygit2.Tree) or name not in node:
                return None
            node = node[name]
            if node.filemode == FileMode.LINK:
                link = "/".join(names[: depth + 1])
                if hops_left == 0:
                    raise PathEscapeError(f"symlink {link!r} at {self.revision[:12]} is part of a "
                                          f"chain longer than {MAX_SYMLINK_HOPS} links (a loop?); "
                                          "point it at the file itself")
                target = self._link_target(link, node)
                rest = "/".join([target, *names[depth + 1:]]).strip("/")
                return self._lookup_through_links(rest, hops_left - 1)
        return node

    def _link_target(self, link: str, blob: pygit2.Object) -> str:
        """The repository path a symlink points to, refusing targets outside the repository."""
        assert isinstance(blob, pygit2.Blob)
        target = blob.data.decode("utf-8", "surrogateescape")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
        if "\0" in target or target.startswith("/") or resolved == ".." or \
                resolved.startswith("../"):
            raise PathEscapeError(f"symlink {link!r} at {self.revision[:12]} points to "
                                  f"{target!r}, outside the repository; make it a relative link "
                                  "to a file in the repository or copy the file in")
        return "" if resolved == "." else resolved

    def _collect_files(self, tree: pygit2.Tree, prefix: str, files: list[str]) -> None:
        for entry in tree:
            name = entry.name or ""
            if name in ("", ".", "..") or "/" in name or "\0" in name:
                # Git itself never writes such names; a crafted tree could.
                raise PathEscapeError(f"tree {prefix or '/'} at {self.revision[:12]} has an "
                                      f"entry named {name!r}; the repository is corrupt or "
                                      "crafted, refusing to read it")
            path = f"{prefix}/{name}" if prefix else name
            if isinstance(entry, pygit2.Tree):
                self._collect_files(entry, path, files)
            elif entry.filemode == FileMode.LINK:
                if self._is_listable_link(path):
                    files.append(path)
            elif isinstance(entry, pygit2.Blob):
                files.append(path)
            # else: a submodule (gitlink to a commit of another repository): not ours to read

    def _is_listable_link(self, path: str) -> bool:
        try:
            return isinstance(self._lookup_through_links(path, MAX_SYMLINK_HOPS), pygit2.Blob)
        except PathEscapeError:
            return True  # listed, so that reading it refuses with the link's name
