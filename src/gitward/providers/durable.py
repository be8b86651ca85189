"""Writing files durably: temp files beside their paths, and one durability
barrier for many files written at once.

`LocalConnection.write_files_atomic` fills every temporary file first, then
calls `make_durable` on them all, and only then renames each into place, so a
crash still leaves every path with its old bytes or its new ones. The barrier
is what makes a first converge of 1,000 files cheap: an fsync each costs a
journal commit each (about 0.2 s for 1,000 small files on ext4), while one
``syncfs(2)`` per filesystem commits them together (about 15 ms).

Filling the temp files is itself spread over threads for a large batch
(`in_runs`): creating a file waits in the kernel with the GIL released (about
0.1 ms each on ext4 here), so two threads fill 1,000 files in about half the
time of one.

``syncfs`` flushes everything dirty on that filesystem, not only these files,
so it is used only for a batch of at least `SYNCFS_FROM` files; fewer are
fsynced one by one. Where the C library has no ``syncfs`` (not Linux), or it
fails, every file is fsynced: slower, never less safe. Linux reports a failed
writeback through ``syncfs`` since 5.8.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SYNCFS_FROM", "THREADS_FROM", "discard", "in_runs", "make_durable",
           "sweep_leftovers", "temp_beside"]

SYNCFS_FROM = 8
THREADS_FROM = 64     # files in a batch before its temp files are filled by several threads
MAX_THREADS = 4


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


def in_runs(count: int, work: Callable[[range, threading.Event], None]) -> None:
    """Call `work` on consecutive runs of ``range(count)`` that together cover it:
    one run below `THREADS_FROM`, else one per CPU (at most `MAX_THREADS`), each
    in its own thread. `work` should return early once its event is set. When a
    run raises, or the caller is interrupted, the event is set and every thread
    is waited for before the exception goes on, so none is still working then."""
    threads = min(MAX_THREADS, _cpus()) if count >= THREADS_FROM else 1
    stop = threading.Event()
    if threads <= 1:
        work(range(count), stop)
        return
    size = -(-count // threads)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="gitward-fill")
    try:
        runs = [pool.submit(work, range(start, min(start + size, count)), stop)
                for start in range(0, count, size)]
        for run in runs:
            run.result()
    finally:
        stop.set()
        pool.shutdown(wait=True)


def _cpus() -> int:
    """CPUs this process may run on (all of them where the OS cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)   # Linux only
    return len(affinity(0)) if affinity else os.cpu_count() or 1


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


def temp_beside(host: str) -> str:
    head, name = os.path.split(host)
    # Hidden, unique, and short enough for NAME_MAX even beside a 255-byte name.
    return f"{head}/.{name[:200]}.gitward-{secrets.token_hex(6)}.tmp"


def _temp_of(entry: str) -> str | None:
    """The name whose temp file (`temp_beside`) `entry` is, or None."""
    if not (entry.startswith(".") and entry.endswith(".tmp")):
        return None
    name, marker, token = entry[1:-4].rpartition(".gitward-")
    return name if marker and len(token) == 12 else None


def sweep_leftovers(written: Iterable[str]) -> None:
    """Remove the temp files that a killed write of these very host paths left
    beside them (a batch fills all its temp files before renaming any). Only
    the writer of a path makes temp files named after it, and one app at a
    time writes its paths, so none of these can be in use."""
    names: dict[str, set[str]] = {}
    for host in written:
        head, name = os.path.split(host)
        names.setdefault(head, set()).add(name[:200])
    for head, wanted in names.items():
        try:
            with os.scandir(head) as entries:
                stale = [entry.path for entry in entries if _temp_of(entry.name) in wanted]
        except OSError:
            continue
        for path in stale:
            discard(path)


def discard(tmp: str) -> None:
    if tmp:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
