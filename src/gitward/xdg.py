"""Where gitward keeps per-user files, by the XDG base directory rules.

>>> base_dir("XDG_CACHE_HOME", ".cache")   # doctest: +SKIP
PosixPath('/home/me/.cache')
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["base_dir"]


def base_dir(variable: str, default: str) -> Path:
    """``$variable`` (e.g. ``XDG_CACHE_HOME``) if it is an absolute path, else
    `default` under the home folder: the XDG spec says to ignore a relative one."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / default
