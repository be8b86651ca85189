"""Reading a bare mirror's refs from its files, without opening the repository.

A one-shot command that finds the branch where it was last time should not
pay for loading libgit2. Git keeps a ref either as a loose file
(``refs/heads/main`` holding a SHA, or ``ref: <other ref>`` for a symbolic
one) or as a line of ``packed-refs``; a loose file wins over a packed line.
`read_ref` answers from those files alone: a SHA, or None when the ref is
certainly absent; it raises `RefUnsure` whenever it cannot be sure (a name
that is not plainly valid, an unreadable file, a long symbolic chain), so the
caller asks pygit2 instead.

>>> read_ref(mirror, "refs/heads/main")  # doctest: +SKIP
'3f2c9a...'
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["RefUnsure", "read_ref"]

_SHA = re.compile(r"^[0-9a-f]{40}$")
# Plain ref names only: what needs git's full rules goes the slow, exact way.
_PLAIN_NAME = re.compile(r"^refs/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_MAX_SYMBOLIC = 4


class RefUnsure(Exception):
    """The files alone cannot tell what the ref points to."""


def read_ref(mirror: Path, name: str) -> str | None:
    """The SHA `name` (a full ``refs/...`` name) points to; None if it is absent."""
    for hop in range(_MAX_SYMBOLIC):
        if not _PLAIN_NAME.match(name) or ".." in name or name.endswith((".lock", ".")):
            raise RefUnsure(name)
        try:
            text = (mirror / name).read_text("ascii").strip()
        except FileNotFoundError:
            sha = _packed(mirror, name)
            if sha is None and hop > 0:
                raise RefUnsure(name) from None  # a dangling symbolic ref still exists for git
            return sha
        except (OSError, UnicodeDecodeError):
            raise RefUnsure(name) from None
        if not text.startswith("ref: "):
            if not _SHA.match(text):
                raise RefUnsure(name)
            return text
        name = text.removeprefix("ref: ").strip()
    raise RefUnsure(name)


def _packed(mirror: Path, name: str) -> str | None:
    try:
        text = (mirror / "packed-refs").read_text("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        raise RefUnsure(name) from None
    suffix = f" {name}"
    for line in text.splitlines():
        if line.endswith(suffix):
            sha = line[:40]
            if not _SHA.match(sha) or len(line) != 40 + len(suffix):
                raise RefUnsure(name)
            return sha
    return None
