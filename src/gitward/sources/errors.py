"""What can go wrong between gitward and a Git repository, one type per cause.

All are `SourceError`s, so the engine can treat any of them as "keep the last
good state and try again later"; callers that want to react differently (the
version updater retries a push race) catch the specific type. Path refusals
(``..``, absolute paths, symlinks that leave the repository) are the core's
`PathEscapeError` instead, because they are a safety rule, not a source fault.
"""

from __future__ import annotations

from gitward.core.errors import SourceError

__all__ = [
    "FetchError",
    "MirrorReadError",
    "PushError",
    "PushRejectedError",
    "RefNotFoundError",
    "UnsupportedUrlError",
]


class UnsupportedUrlError(SourceError):
    """A repository URL gitward refuses: an unknown scheme or a transport like ``ext::``."""


class FetchError(SourceError):
    """The repository cannot be reached, read or authenticated against, or took too long."""


class MirrorReadError(SourceError):
    """The mirror's objects cannot be read: git is missing or died, or an object is absent
    or of another kind than its tree or ref says (a corrupt or crafted repository)."""


class RefNotFoundError(SourceError):
    """A branch, tag or commit that the repository (as last fetched) does not have."""


class PushError(SourceError):
    """A push that failed for a reason other than a race: no permission, unreachable, hook."""


class PushRejectedError(SourceError):
    """A push refused because the branch moved on since the last fetch; fetch and retry."""
