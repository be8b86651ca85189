"""Whether a webhook's payload names the repository the agent manages.

Forges describe a repository many ways in one payload: clone URLs over HTTPS
and SSH, the scp-like ``git@host:org/repo.git``, a bare ``org/repo`` full
name; the agent itself may manage a local path or a ``file://`` URL. Each is
reduced to what identifies it (host and path, or an absolute path, or a full
name) and compared; a false match costs one extra fetch, a missed one a
delayed deploy, so the rules lean towards matching.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["repository_matches"]


@dataclass(frozen=True, slots=True)
class _RepositoryName:
    """A repository reference reduced to what identifies it.

    `kind` is ``remote`` (host + path), ``local`` (absolute path) or ``name``
    (a bare ``org/repo`` full name, as forges put in payloads).
    """

    kind: str
    host: str
    path: str


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _repository_name(text: str) -> _RepositoryName:
    text = text.strip()
    if text.lower().startswith("file://"):
        return _RepositoryName("local", "", _absolute(unquote(urlsplit(text).path)))
    if _SCHEME.match(text):
        parts = urlsplit(text)
        return _remote(parts.hostname or "", parts.path)
    if text.startswith(("/", ".", "~")):
        return _RepositoryName("local", "", _absolute(text))
    colon, slash = text.find(":"), text.find("/")
    if colon > 0 and (slash == -1 or colon < slash):  # git's scp-like [user@]host:path
        host, _, path = text.partition(":")
        return _remote(host.rpartition("@")[2].strip("[]"), path)
    path = _repository_path(text)
    if "/" not in path:  # a full name has an owner; "ops.git" is a relative path
        return _RepositoryName("local", "", _absolute(text))
    return _RepositoryName("name", "", path)


def _remote(host: str, path: str) -> _RepositoryName:
    # Forges treat owner and repository names case-insensitively, and a false
    # match costs only one extra fetch, so paths are compared in lower case.
    return _RepositoryName("remote", host.lower(), _repository_path(path).lower())


def _repository_path(path: str) -> str:
    return path.strip().strip("/").removesuffix(".git").rstrip("/")


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def _same_repository(left: _RepositoryName, right: _RepositoryName) -> bool:
    if left.kind == right.kind:
        return left == right
    if "name" not in (left.kind, right.kind) or "local" in (left.kind, right.kind):
        return False
    name, remote = (left, right) if left.kind == "name" else (right, left)
    wanted = name.path.lower()
    return bool(wanted) and (remote.path == wanted or remote.path.endswith("/" + wanted))


def repository_matches(candidates: Iterable[str], managed: str) -> bool:
    """True if any of `candidates` (from a payload) names the `managed` repository.

    >>> repository_matches(["git@GitHub.com:org/ops.git"], "https://tok@github.com/org/ops/")
    True
    >>> repository_matches(["org/ops"], "ssh://git@github.com:22/org/ops.git")
    True
    """
    target = _repository_name(managed)
    return any(_same_repository(_repository_name(candidate), target)
               for candidate in candidates if candidate.strip())
