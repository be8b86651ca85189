"""One durability barrier for many files written at once.

`LocalConnection.write_files_atomic` fills every temporary file first, then
calls `make_durable` on them all, and only then renames each into place, so a
crash still leaves every path with its old bytes or its new ones. The barrier
is what makes a first converge of 1,000 files cheap: an fsync each costs a
journal commit each (about 0.2 s for 1,000 small files on ext4), while one
``syncfs(2)`` per filesystem commits them together (about 15 ms).

``syncfs`` flushes everything dirty on that filesystem, not only these files,
so it is used only for a batch of at least `SYNCFS_FROM` files; fewer are
fsynced one by one. Where the C library has no ``syncfs`` (not Linux), or it
fails, every file is fsynced: slower, never less safe. Linux reports a failed
writeback through ``syncfs`` since 5.8.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence

__all__ = ["SYNCFS_FROM", "make_durable"]

SYNCFS_FROM = 8


def make_durable(paths: Sequence[str]) -> None:
    """Make the bytes of the files at `paths` durable; raises the `OSError` of
    the first file that cannot be."""
    if not paths:
        return
    syncfs = _syncfs() if len(paths) >= SYNCFS_FROM else None
    if syncfs is None:
        for path in paths:
            _fsync(path)
        return
    by_device: dict[int, str] = {}
    for path in paths:
        by_device.setdefault(os.lstat(path).st_dev, path)
    for path in by_device.values():
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            if syncfs(fd) != 0:
                # Not trusted to say which file failed: fsync each, which does.
                for one in paths:
                    _fsync(one)
                return
        finally:
            os.close(fd)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    import ctypes  # only a batch pays for loading it

    try:
        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    return call
