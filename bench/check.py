"""Did a run converge? The `diff -r` of the repository's files and the target.

Every measured run is checked: the target must hold exactly the entries of
files/ in the commit the run pulled (same names, same kinds, same bytes) and
every file must have the mode the descriptions ask for (0644). A run that
exits 0 but leaves a different tree counts as failed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MODE = 0o644


def tree_difference(want: Path, got: Path, mode: int = MODE) -> str:
    """The first difference between two trees as one line, or "" when none.

    >>> tree_difference(Path("work/files"), Path("target"))
    ''
    """
    wanted, found = _entries(want), _entries(got)
    if missing := sorted(wanted.keys() - found.keys()):
        return f"missing in target: {missing[0]} ({len(missing)} in all)"
    if extra := sorted(found.keys() - wanted.keys()):
        return f"only in target: {extra[0]} ({len(extra)} in all)"
    for rel, kind in sorted(wanted.items()):
        if found[rel] != kind:
            return f"not a {kind}: {rel}"
        if kind != "file":
            continue
        info = os.stat(got / rel)
        if stat.S_IMODE(info.st_mode) != mode:
            return f"mode {stat.S_IMODE(info.st_mode):o} instead of {mode:o}: {rel}"
        if (want / rel).read_bytes() != (got / rel).read_bytes():
            return f"bytes differ: {rel}"
    return ""


def _entries(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            kind = ("link" if os.path.islink(path) else
                    "directory" if os.path.isdir(path) else "file")
            out[os.path.relpath(path, root)] = kind
    return out
