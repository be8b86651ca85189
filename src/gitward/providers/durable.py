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
so it is used only for a batch of at least `SYNCFS_FROM` files, and only
while the host holds little other unwritten data: it costs about 2 ms per MB
written back, so after another program wrote 40 MB it took 0.1 s for 100
files here, where an fsync of each of them (`SYNC_THREADS` at a time, as
each waits on the disk) takes 20 ms whatever else is dirty. Past
`DIRTY_KB_PER_FILE` of dirty data (``/proc/meminfo``) per file of the batch,
each file is fsynced: the barrier then costs what this batch wrote, not what
the rest of the host did. Fewer files than `SYNCFS_FROM` are fsynced one by
one. Where the C library has no ``syncfs`` (not Linux), or it fails, every
file is fsynced: slower, never less safe. Linux reports a failed writeback
through ``syncfs`` since 5.8.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SYNCFS_FROM", "THREADS_FROM", "dirty_kb", "discard", "in_runs", "make_durable",
           "sweep_leftovers", "temp_beside"]

SYNCFS_FROM = 8
DIRTY_KB_PER_FILE = 32   # host-wide unwritten data per file of a batch past which syncfs costs more
SYNC_THREADS = 8         # fsyncs under way at once when a batch is fsynced file by file
THREADS_FROM = 64        # files in a batch before its temp files are filled by several threads
MAX_THREADS = 4


def make_durable(paths: Sequence[str]) -> None:
    """Make the bytes of the files at `paths` durable; raises the `OSError` of
    the first file that cannot be."""
    if not paths:
        return
    syncfs = _syncfs() if len(paths) >= SYNCFS_FROM and not _host_busy(len(paths)) else None
    if syncfs is None:
        _fsync_each(paths)
        return
    by_device: dict[int, str] = {}
    for path in paths:
        by_device.setdefault(os.lstat(path).st_dev, path)
    for path in by_device.values():
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            if syncfs(fd) != 0:
                # Not trusted to say which file failed: fsync each, which does.
                _fsync_each(paths)
                return
        finally:
            os.close(fd)


def _host_busy(count: int) -> bool:
    """Whether the host holds so much unwritten data that a ``syncfs``, which
    writes it all, would cost more than an fsync of each of `count` files."""
    dirty = dirty_kb()
    return dirty is not None and dirty > DIRTY_KB_PER_FILE * count


def dirty_kb() -> int | None:
    """Kilobytes of file data the kernel has yet to write (dirty or under
    writeback, all filesystems); None where ``/proc/meminfo`` cannot say."""
    try:
        with open("/proc/meminfo", "rb") as handle:
            lines = handle.read().splitlines()
        return sum(int(line.split()[1]) for line in lines
                   if line.startswith((b"Dirty:", b"Writeback:")))
    except (OSError, ValueError, IndexError):
        return None


def _fsync_each(paths: Sequence[str]) -> None:
    """fsync every file, several at once for a batch; raises the `OSError` of
    the first file (in order) that cannot be made durable."""
    if len(paths) < SYNCFS_FROM:
        for path in paths:
            _fsync(path)
        return
    with ThreadPoolExecutor(min(SYNC_THREADS, len(paths)),
                            thread_name_prefix="gitward-fsync") as pool:
        for _ in pool.map(_fsync, paths):   # re-raises the first error, in order
            pass


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
