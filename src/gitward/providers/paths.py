"""Keeping target paths inside the target: `normalise_target_path` and `TargetRoot`.

Manifests name target paths as absolute paths (``/etc/motd``). Spec models call
`normalise_target_path` to clean them when a manifest is loaded, and a
`Connection` calls `TargetRoot.host_path` before any I/O to map one onto the
host directory that stands for the target's ``/``.

Both refuse a path that could leave the target: relative paths, ``..``
components and NUL bytes are refused as written; then the parent directory is
resolved (symlinks followed) and must stay inside the root, so a symlink
planted on the target (``etc -> /etc``) cannot redirect a write out of it.
The last component is left to the caller, which never follows it.
"""

from __future__ import annotations

import os

from gitward.core.errors import PathEscapeError

__all__ = ["TargetRoot", "normalise_target_path"]


def normalise_target_path(path: str) -> str:
    """``/etc//motd/`` -> ``/etc/motd``; NUL bytes, relative paths and ``..``
    are refused with `PathEscapeError`."""
    if "\0" in path:
        raise PathEscapeError(f"path {path!r} contains a NUL byte; remove it")
    if not path.startswith("/"):
        raise PathEscapeError(f"path {path!r} is relative; write it absolute, like /etc/motd")
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise PathEscapeError(f"path {path!r} contains '..'; write it without going up")
    return "/" + "/".join(parts)


class TargetRoot:
    """The host directory `root` standing for ``/`` of the target.

    >>> TargetRoot("/tmp/t").host_path("/etc/motd")
    '/tmp/t/etc/motd'
    """

    def __init__(self, root: str) -> None:
        if not root.startswith("/"):
            raise PathEscapeError(f"target root {root!r} must be an absolute directory")
        self.root = os.path.normpath(root)
        self._real_root = os.path.realpath(self.root)
        self._inside_dirs: dict[str, tuple[int, int]] = {}

    def host_path(self, path: str) -> str:
        """The host path of target `path`, after refusing anything that escapes."""
        clean = normalise_target_path(path)
        if self.root == "/":
            return clean  # nothing resolves outside /
        if clean == "/":
            return self.root
        host = self.root + clean
        self.check_inside(path, os.path.dirname(host))
        return host

    def check_inside(self, path: str, host_dir: str) -> None:
        """Refuse with `PathEscapeError` unless `host_dir`, resolved, is in the root."""
        # Resolving a path costs an lstat per component, for every file of a
        # read. A directory found inside the root is remembered by its device
        # and inode; if `host_dir` still leads to that very directory, one stat
        # proves it. (Only moving that directory itself out of the root, which
        # needs write access to the root, would go unnoticed.)
        known = self._inside_dirs.get(host_dir)
        if known is not None and known == _identity(host_dir):
            return
        real = os.path.realpath(host_dir)
        if real != self._real_root and not real.startswith(self._real_root + "/"):
            raise PathEscapeError(
                f"path {path} resolves to {real}, outside the target root {self.root}, "
                "through a symlink on the target; remove that symlink or change the path")
        found = _identity(real)
        if found is not None:
            self._inside_dirs[host_dir] = found


def _identity(path: str) -> tuple[int, int] | None:
    """Device and inode of what `path` leads to, or None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
