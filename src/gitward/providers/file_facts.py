"""What an lstat says about a managed path, in the form live File, Directory and
Symlink specs record it, and when two such records mean "nothing changed".

Shared by `FilesProvider` (its stat cache) and the engine's seal of an
unchanged app (`gitward.engine.seal`), which must not load the providers'
pydantic models just to compare a few numbers.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gitward.providers.connection_types import FileStat

if TYPE_CHECKING:
    from gitward.core.model import Resource

__all__ = ["CACHE_FACTS", "cached_sha", "lstat_facts", "lstat_key", "lstat_matches",
           "same_facts", "shown_id", "stat_facts"]

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


def lstat_key(recorded: Mapping[str, Any]) -> tuple[int, ...] | None:
    """What an lstat of the path gives while it is as `recorded` (a live spec),
    as one tuple to hold against `lstat_facts(st, len(key))`; None for what is
    never judged by its facts (a symlink, or a spec that lacks one)."""
    kind = recorded.get("type")
    if kind not in ("file", "dir"):
        return None
    try:
        mode = int(recorded["mode"], 8)
        if kind == "dir":
            return (stat_mod.S_IFDIR | mode, recorded["uid"], recorded["gid"])
        return (stat_mod.S_IFREG | mode, recorded["uid"], recorded["gid"], recorded["size"],
                recorded["mtime_ns"], recorded["ctime_ns"], recorded["inode"])
    except (KeyError, TypeError, ValueError):
        return None


def lstat_facts(st: os.stat_result, length: int) -> tuple[int, ...]:
    """The facts of `st` that a `lstat_key` of that `length` holds (the file type
    and permission bits together, as `st_mode` has them)."""
    if length == _DIR_KEY:
        return (st.st_mode, st.st_uid, st.st_gid)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
            st.st_ino)


_DIR_KEY = 3


def lstat_matches(recorded: Mapping[str, Any], st: os.stat_result) -> bool:
    """``same_facts(recorded, stat_facts(path, file_stat(st)))`` without building
    either: the check the seal makes of every path of a large app."""
    key = lstat_key(recorded)
    return key is not None and lstat_facts(st, len(key)) == key


def cached_sha(before: Resource | None, now: Mapping[str, Any]) -> str | None:
    """The sha256 recorded in `before` (a live resource) when the facts `now`
    show that nothing a write would change has changed since: the stat cache."""
    if before is None or now.get("type") != "file" or not same_facts(before.spec, now):
        return None
    sha = before.spec.get("sha256")
    return sha if isinstance(sha, str) else None


def shown_id(wanted: Any, actual: int, name_of: Callable[[int], str | None]) -> int | str:
    """An owner in the form the desired spec uses: the id for an id, else the name."""
    return actual if isinstance(wanted, int) else (name_of(actual) or actual)
