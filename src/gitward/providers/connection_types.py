"""What a connection to a target speaks: the `Connection` protocol and the
records it takes and gives (`FileStat`, `FileWrite`).

Apart from `gitward.providers.connection` (which re-exports them with
`LocalConnection`), so that what only compares facts (`file_facts`, the
engine's seal) need not load the implementation.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from gitward.core.errors import GitwardError
from gitward.providers.owners import Owner
from gitward.providers.process import CommandResult

__all__ = ["Connection", "FileKind", "FileStat", "FileWrite", "file_stat"]

FileKind = Literal["file", "dir", "symlink", "other"]


@dataclass(frozen=True, slots=True)
class FileStat:
    """What an lstat says about a path. `mode` holds only permission bits."""

    kind: FileKind
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class FileWrite:
    """One file for `Connection.write_files_atomic`: bytes, mode and owner."""

    path: str
    data: bytes
    mode: int
    uid: Owner = None
    gid: Owner = None


class Connection(Protocol):
    """A target host seen through target paths. Errors are `ProviderError`s."""

    root: str

    def stat(self, path: str) -> FileStat | None: ...
    def read_file(self, path: str) -> bytes | None: ...
    def write_file_atomic(self, path: str, data: bytes, mode: int, uid: Owner = None,
                          gid: Owner = None) -> FileStat: ...
    def write_files_atomic(self, writes: Sequence[FileWrite]) -> list[FileStat | GitwardError]: ...
    def mkdir(self, path: str, mode: int = 0o755, uid: Owner = None,
              gid: Owner = None) -> None: ...
    def rmdir(self, path: str) -> None: ...
    def remove(self, path: str) -> None: ...
    def symlink(self, path: str, target: str, uid: Owner = None, gid: Owner = None) -> None: ...
    def readlink(self, path: str) -> str | None: ...
    def chmod(self, path: str, mode: int) -> None: ...
    def chown(self, path: str, uid: Owner = None, gid: Owner = None) -> None: ...
    def user_name(self, uid: int) -> str | None: ...
    def group_name(self, gid: int) -> str | None: ...
    def run(self, command: str | Sequence[str], *, cwd: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float | None = None,
            input: str | bytes | None = None) -> CommandResult: ...
    def flush(self) -> None: ...


_KINDS: dict[int, FileKind] = {stat_mod.S_IFREG: "file", stat_mod.S_IFDIR: "dir",
                               stat_mod.S_IFLNK: "symlink"}


def file_stat(st: os.stat_result) -> FileStat:
    return FileStat(_KINDS.get(stat_mod.S_IFMT(st.st_mode), "other"), stat_mod.S_IMODE(st.st_mode),
                    st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
