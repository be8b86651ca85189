"""How host providers reach a target: a `Connection`, and `LocalConnection`.

The protocol and its records (`FileStat`, `FileWrite`) live in
`gitward.providers.connection_types` and are re-exported here.

Providers of host kinds (files, commands, services) never touch `os` directly.
They speak target paths, absolute as the manifest writes them (``/etc/motd``),
to a `Connection`, which maps them onto the host and refuses any path that
would leave the target's root. `LocalConnection` works on this machine: under
``/`` in production, under a temporary directory in tests. An SSH connection
will implement the same methods, so every host kind works locally and
remotely alike.

In the data flow, `Provider.read` calls `stat` and `read_file` (a tight loop
over many paths, so nothing here spawns a process or builds a model) and
`Provider.apply` calls `write_file_atomic` (or, for a wave, `write_files_atomic`),
`mkdir`, `symlink` and `run`.

Safety, checked before any I/O: `TargetRoot` (`paths.py`) refuses a path
that is relative, goes up, or whose parent resolves outside the root. The last
component is never followed: `stat` is an lstat, `read_file` opens with
``O_NOFOLLOW``, and `write_file_atomic` and `symlink` rename over a link rather
than through it. Failures are the `ProviderError`s of `errors.py`.

Durability: `write_file_atomic` writes a temporary file in the same directory,
fsyncs it and renames it over the path, so a reader (or a crash) sees the old
bytes or the new ones, never a mix. The directory that gained the new name is
fsynced once per `flush()` rather than after every file: a crash before that
can at worst bring back the *old* file, which the next read sees as drift and
the next sync rewrites, while a sync of 1,000 files in one directory pays for
one directory fsync instead of 1,000. The engine calls `flush()` once a sync
has applied its changes. `write_files_atomic` writes many files with the same
guarantee but one durability barrier for all (`durable.make_durable`): every
temp file is filled, all are made durable, then each is renamed into place.
A process killed in between leaves temp files; the next batch that writes
those paths removes them. `run` starts commands through `process.run_process`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
import threading
from collections.abc import Callable, Mapping, Sequence

from gitward.core.errors import GitwardError
from gitward.providers.connection_types import (
    Connection,
    FileStat,
    FileWrite,
    file_stat,
)
from gitward.providers.durable import discard, in_runs, make_durable, sweep_leftovers, temp_beside
from gitward.providers.errors import (
    CommandTimeoutError,
    OwnerNotPermittedError,
    ProviderError,
    TargetIOError,
    UnknownOwnerError,
)
from gitward.providers.owners import Owner, OwnerNames, give_owner, owner_ids
from gitward.providers.paths import TargetRoot, normalise_target_path
from gitward.providers.process import CommandResult, run_process

__all__ = [
    "CommandResult",
    "CommandTimeoutError",
    "Connection",
    "FileStat",
    "FileWrite",
    "LocalConnection",
    "OwnerNotPermittedError",
    "ProviderError",
    "TargetIOError",
    "UnknownOwnerError",
    "file_stat",
    "normalise_target_path",
]

class LocalConnection:
    """This machine, with `root` standing for ``/`` of the target.

    >>> LocalConnection("/tmp/t").host_path("/etc/motd")
    '/tmp/t/etc/motd'
    """

    def __init__(self, root: str = "/") -> None:
        self._paths = TargetRoot(root)
        self.root = self._paths.root
        self._dirty_dirs: set[str] = set()
        self._lock = threading.Lock()  # providers apply from a thread pool
        self._names = OwnerNames()

    def __repr__(self) -> str:
        return f"LocalConnection({self.root!r})"

    # -- paths -----------------------------------------------------------------

    def host_path(self, path: str) -> str:
        """The host path of target `path`, after refusing anything that escapes."""
        return self._paths.host_path(path)

    def _where(self, path: str) -> str:
        return path if self.root == "/" else f"{path} (under root {self.root})"

    def _fail(self, doing: str, path: str, exc: OSError) -> TargetIOError:
        return TargetIOError(f"cannot {doing} {self._where(path)}: {exc.strerror or exc}",
                             exc.errno)

    # -- reading ---------------------------------------------------------------

    def stat(self, path: str) -> FileStat | None:
        host = self.host_path(path)
        try:
            return file_stat(os.lstat(host))
        except (FileNotFoundError, NotADirectoryError):  # a parent that is a file: absent too
            return None
        except OSError as exc:
            raise self._fail("stat", path, exc) from exc

    def read_file(self, path: str) -> bytes | None:
        """The bytes of a regular file; None if absent. A symlink is not followed."""
        host = self.host_path(path)
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TargetIOError(f"cannot read {self._where(path)}: it is a symlink, "
                                    "which is not followed", exc.errno) from exc
            raise self._fail("read", path, exc) from exc
        try:
            chunks = [os.read(fd, os.fstat(fd).st_size + 1)]  # one read unless it grows
            while chunks[-1]:
                chunks.append(os.read(fd, 1 << 20))
            return b"".join(chunks)
        except OSError as exc:
            raise self._fail("read", path, exc) from exc
        finally:
            os.close(fd)

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(self.host_path(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._fail("read the link", path, exc) from exc

    # -- writing ---------------------------------------------------------------

    def write_file_atomic(self, path: str, data: bytes, mode: int, uid: Owner = None,
                          gid: Owner = None) -> FileStat:
        """Replace `path` with `data` in one rename; on any error the temp is removed."""
        host = self.host_path(path)
        write = FileWrite(path, data, mode, uid, gid)
        self._replace(path, host, lambda tmp: self._fill(tmp, write, sync=True), "write")
        return file_stat(os.lstat(host))

    def write_files_atomic(self, writes: Sequence[FileWrite]) -> list[FileStat | GitwardError]:
        """Many `write_file_atomic`s with one durability barrier: every temp file
        is filled, all are made durable together (`durable.make_durable`), then
        each is renamed into place. One outcome per write, in order: the stat
        of the new file, or the error that left that path as it was."""
        outcomes: list[FileStat | GitwardError | None] = [None] * len(writes)
        staged: list[tuple[int, str, str]] = []   # index, host path, temp path
        try:
            self._write_staged(writes, outcomes, staged)
        except BaseException:   # interrupted: no temp file is left behind
            for _, _, tmp in staged:
                discard(tmp)
            raise
        return [outcome for outcome in outcomes if outcome is not None]

    def _write_staged(self, writes: Sequence[FileWrite],
                      outcomes: list[FileStat | GitwardError | None],
                      staged: list[tuple[int, str, str]]) -> None:
        def fill_run(run: range, stop: threading.Event) -> None:
            for index in run:
                if stop.is_set():
                    return
                write, tmp = writes[index], ""
                try:
                    host = self.host_path(write.path)
                    tmp = temp_beside(host)
                    self._fill(tmp, write, sync=False)
                except (OSError, GitwardError) as exc:
                    discard(tmp)
                    outcomes[index] = self._failure("write", write.path, exc)
                    continue
                except BaseException:
                    discard(tmp)
                    raise
                staged.append((index, host, tmp))

        in_runs(len(writes), fill_run)
        staged.sort()
        try:
            make_durable([tmp for _, _, tmp in staged])
        except OSError as exc:
            for index, _, tmp in staged:
                discard(tmp)
                outcomes[index] = self._fail("write", writes[index].path, exc)
            staged.clear()
        self._rename_staged(writes, outcomes, staged)

    def _rename_staged(self, writes: Sequence[FileWrite],
                       outcomes: list[FileStat | GitwardError | None],
                       staged: list[tuple[int, str, str]]) -> None:
        staged.reverse()   # renamed in order, each taken off as it lands
        renamed: list[str] = []
        while staged:
            index, host, tmp = staged[-1]
            try:
                os.rename(tmp, host)
                outcomes[index] = file_stat(os.lstat(host))
                self._mark_dirty(os.path.dirname(host))
                renamed.append(host)
            except OSError as exc:
                discard(tmp)
                outcomes[index] = self._fail("write", writes[index].path, exc)
            staged.pop()
        sweep_leftovers(renamed)

    def _fill(self, tmp: str, write: FileWrite, *, sync: bool) -> None:
        ids = self._ids(write.path, write.uid, write.gid)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600)
        try:
            _write_all(fd, write.data)
            if ids is not None:  # before fchmod: a chown clears setuid bits
                self._give(write.path, write.uid, write.gid, lambda: os.fchown(fd, *ids))
            os.fchmod(fd, write.mode)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _failure(self, doing: str, path: str, exc: OSError | GitwardError) -> GitwardError:
        return exc if isinstance(exc, GitwardError) else self._fail(doing, path, exc)

    def symlink(self, path: str, target: str, uid: Owner = None, gid: Owner = None) -> None:
        """Point `path` at `target`, replacing a file or link there in one rename."""
        host = self.host_path(path)
        ids = self._ids(path, uid, gid)

        def make(tmp: str) -> None:
            os.symlink(target, tmp)
            if ids is not None:
                self._give(path, uid, gid, lambda: os.lchown(tmp, *ids))

        self._replace(path, host, make, "create the symlink")

    def _replace(self, path: str, host: str, make: Callable[[str], None], doing: str) -> None:
        """Build the new thing under a temp name beside `host`, then rename it over."""
        tmp = temp_beside(host)
        try:
            make(tmp)
            os.rename(tmp, host)
        except BaseException as exc:
            discard(tmp)
            if isinstance(exc, OSError):
                raise self._fail(doing, path, exc) from exc
            raise
        self._mark_dirty(os.path.dirname(host))

    def mkdir(self, path: str, mode: int = 0o755, uid: Owner = None, gid: Owner = None) -> None:
        """Make sure `path` is a directory with this mode (and owner); missing
        parents are created with 0755 less the umask."""
        host = self.host_path(path)
        ids = self._ids(path, uid, gid)
        try:
            os.makedirs(os.path.dirname(host), 0o755, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(host, 0o700)  # opened up below, once owned: never briefly too open
            if not stat_mod.S_ISDIR(os.lstat(host).st_mode):
                raise TargetIOError(f"cannot make directory {self._where(path)}: something "
                                    "else is there; remove it first", errno.EEXIST)
            if ids is not None:
                self._give(path, uid, gid, lambda: os.lchown(host, *ids))
            os.chmod(host, mode)
        except OSError as exc:
            raise self._fail("make directory", path, exc) from exc
        self._mark_dirty(os.path.dirname(host))

    def rmdir(self, path: str) -> None:
        self._unlink(path, os.rmdir, "remove directory")

    def remove(self, path: str) -> None:
        """Unlink a file or symlink (never what it points to); absent is fine."""
        self._unlink(path, os.unlink, "remove")

    def _unlink(self, path: str, unlink: Callable[[str], None], doing: str) -> None:
        host = self.host_path(path)
        try:
            unlink(host)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._fail(doing, path, exc) from exc
        self._mark_dirty(os.path.dirname(host))

    def chmod(self, path: str, mode: int) -> None:
        host = self.host_path(path)
        try:
            if stat_mod.S_ISLNK(os.lstat(host).st_mode):
                raise TargetIOError(f"cannot chmod {self._where(path)}: it is a symlink, which "
                                    "has no mode of its own", errno.ELOOP)
            os.chmod(host, mode)
        except OSError as exc:
            raise self._fail("chmod", path, exc) from exc

    def chown(self, path: str, uid: Owner = None, gid: Owner = None) -> None:
        """Set owner and/or group of `path` itself (a symlink is not followed)."""
        host = self.host_path(path)
        ids = self._ids(path, uid, gid)
        if ids is None:
            return
        try:
            self._give(path, uid, gid, lambda: os.lchown(host, *ids))
        except OSError as exc:
            raise self._fail("chown", path, exc) from exc

    def flush(self) -> None:
        """Fsync every directory that gained or lost a name since the last flush."""
        with self._lock:
            dirty, self._dirty_dirs = self._dirty_dirs, set()
        for directory in sorted(dirty):
            try:
                fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # removed since: nothing left to make durable
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _mark_dirty(self, host_dir: str) -> None:
        with self._lock:
            self._dirty_dirs.add(host_dir)

    # -- owners ----------------------------------------------------------------

    def _ids(self, path: str, uid: Owner, gid: Owner) -> tuple[int, int] | None:
        return owner_ids(uid, gid, self._where(path))

    def _give(self, path: str, uid: Owner, gid: Owner, change_owner: Callable[[], None]) -> None:
        give_owner(self._where(path), uid, gid, change_owner)

    def user_name(self, uid: int) -> str | None:
        return self._names.user(uid)

    def group_name(self, gid: int) -> str | None:
        return self._names.group(gid)

    # -- commands --------------------------------------------------------------

    def run(self, command: str | Sequence[str], *, cwd: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float | None = None,
            input: str | bytes | None = None) -> CommandResult:
        """Run `command` (a str through ``/bin/sh -c``) and wait for it.

        `cwd` is a target path (default: the root). `env` is added to
        gitward's own environment, with ``GITWARD_ROOT`` set to the root so a
        command can find target paths. On timeout the command's whole process
        group is killed and `CommandTimeoutError` raised.
        """
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        shown = command if isinstance(command, str) else " ".join(command)
        workdir = self.host_path(cwd or "/")
        if cwd and self.root != "/":
            self._paths.check_inside(cwd, workdir)  # chdir follows the last component too
        data = input.encode() if isinstance(input, str) else input
        return run_process(argv, shown=shown, workdir=workdir,
                           shown_workdir=self._where(cwd or "/"),
                           env={**os.environ, "GITWARD_ROOT": self.root, **(env or {})},
                           data=data, timeout=timeout)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
