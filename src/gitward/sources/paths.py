"""Repository paths: untrusted input, made canonical before anything reads them."""

from __future__ import annotations

from gitward.core.errors import PathEscapeError

__all__ = ["MAX_SYMLINK_HOPS", "clean_repo_path"]

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
