"""Pickled entries under ``<state_dir>/cache/``: what the engine worked out and
may reuse while the Git ids it came from are unchanged.

Each entry is one file, written atomically; an entry that cannot be read
(absent, truncated, written by another gitward) is simply a miss. A
long-running process (the agent) keeps what it read or wrote in memory,
keyed by file and mtime, instead of unpickling it again on every pass.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["load_entry", "save_entry"]

_MEMO: dict[Path, tuple[int, dict[str, Any]]] = {}


def load_entry(path: Path) -> dict[str, Any]:
    """The entry at `path`, or {} when there is none worth using."""
    try:
        stamp = path.stat().st_mtime_ns
        memo = _MEMO.get(path)
        if memo is not None and memo[0] == stamp:
            return memo[1]
        with open(path, "rb") as handle:
            entry = pickle.load(handle)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError,
            ValueError):
        return {}
    if not isinstance(entry, dict):
        return {}
    _MEMO[path] = (stamp, entry)
    return entry


def save_entry(path: Path, entry: dict[str, Any]) -> None:
    """Write `entry` to `path` (temp file, then rename) and keep it in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(entry, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    _MEMO[path] = (path.stat().st_mtime_ns, entry)
