"""What an lstat says about a managed path, in the form live File, Directory and
Symlink specs record it, and when two such records mean "nothing changed".

Shared by `FilesProvider` (its stat cache) and the engine's seal of an
unchanged app (`gitward.engine.seal`), which must not load the providers'
pydantic models just to compare a few numbers.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Mapping
from typing import Any

from gitward.providers.connection import FileStat

__all__ = ["CACHE_FACTS", "lstat_matches", "same_facts", "stat_facts"]

# A regular file whose facts all stay the same still has the bytes it had: any
# write changes its ctime, which no user can set back.
CACHE_FACTS = ("path", "size", "mtime_ns", "ctime_ns", "inode", "mode", "uid", "gid")
_DIR_FACTS = ("path", "mode", "uid", "gid")


def stat_facts(path: str, st: FileStat) -> dict[str, Any]:
    """The live spec's facts of `path` from its lstat (owner and group names aside)."""
    spec: dict[str, Any] = {"path": path, "type": st.kind}
    if st.kind != "symlink":  # a symlink's own mode means nothing on Linux
        spec["mode"] = f"{st.mode:04o}"
    spec["uid"], spec["gid"] = st.uid, st.gid
    if st.kind == "file":
        spec.update(size=st.size, mtime_ns=st.mtime_ns, ctime_ns=st.ctime_ns, inode=st.inode)
    return spec


def same_facts(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether a file or directory is as `recorded` (a live spec) by its facts `now`:
    for a file, its bytes too; a symlink is never judged by its facts alone."""
    kind = recorded.get("type")
    if kind != now.get("type") or kind not in ("file", "dir"):
        return False
    names = CACHE_FACTS if kind == "file" else _DIR_FACTS
    return all(recorded.get(name) == now.get(name) for name in names)


def lstat_matches(recorded: Mapping[str, Any], st: os.stat_result) -> bool:
    """``same_facts(recorded, stat_facts(path, file_stat(st)))`` without building
    either: the check the seal makes of every path of a large app."""
    kind = recorded.get("type")
    if kind == "file":
        if not stat_mod.S_ISREG(st.st_mode) or (
                recorded.get("size"), recorded.get("mtime_ns"), recorded.get("ctime_ns"),
                recorded.get("inode")) != (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
            return False
    elif kind != "dir" or not stat_mod.S_ISDIR(st.st_mode):
        return False
    return bool(recorded.get("mode") == f"{stat_mod.S_IMODE(st.st_mode):04o}"
                and recorded.get("uid") == st.st_uid and recorded.get("gid") == st.st_gid)
