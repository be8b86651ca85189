"""Fakes for unit tests of the pure core, and the contract every provider passes.

- `FakeSnapshot`: a repository at one revision, held in a dict.
- `provider_contract` (below): the checks every provider must pass.

Use these only to test logic; tests of sources, providers and stores use the
real things (git, a temp directory, SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

__all__ = ["FakeSnapshot"]


class FakeSnapshot:
    """A repository at one revision, from ``{path: text or bytes}``.

    >>> snap = FakeSnapshot({"apps/web/a.yaml": "kind: File"})
    >>> list(snap.walk("apps"))
    ['apps/web/a.yaml']
    """

    def __init__(self, files: Mapping[str, str | bytes], revision: str = "0" * 40,
                 subject: str = "test commit") -> None:
        self.files = {p.strip("/"): (v.encode() if isinstance(v, str) else v)
                      for p, v in files.items()}
        self.revision = revision
        self.subject = subject

    def read(self, path: str) -> bytes:
        try:
            return self.files[path.strip("/")]
        except KeyError:
            raise FileNotFoundError(path) from None

    def exists(self, path: str) -> bool:
        return path.strip("/") in self.files or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        return any(p.startswith(prefix) for p in self.files)

    def walk(self, path: str) -> Iterator[str]:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        yield from sorted(p for p in self.files if p.startswith(prefix))

    def tree_id(self, path: str) -> str | None:
        if not self.exists(path):
            return None
        digest = hashlib.sha1()
        for p in self.walk(path) if self.is_dir(path) else [path.strip("/")]:
            digest.update(p.encode() + b"\0" + self.files[p])
        return digest.hexdigest()
