"""What can go wrong when a provider reaches its target: one exception per cause.

Every failure a provider meets on a live system is a `ProviderError`, so the
engine needs one ``except`` to record a failed change. The subclasses name
the cause, because a user fixes each one differently: `TargetIOError` (an
operating-system error at a target path, with its `errno`), `UnknownOwnerError`
(create the user or fix the spec), `OwnerNotPermittedError` (run as root or
drop the owner) and `CommandTimeoutError` (raise the timeout or fix the command).

In the data flow, a `Connection` raises them and providers let them through or
wrap them with the resource's key. They live apart from both so that every
provider can share them without importing another provider.
"""

from __future__ import annotations

from gitward.core.errors import GitwardError

__all__ = [
    "CommandTimeoutError",
    "OwnerNotPermittedError",
    "ProviderError",
    "TargetIOError",
    "UnknownOwnerError",
]


class ProviderError(GitwardError):
    """A provider could not read or change a resource on its target."""


class TargetIOError(ProviderError):
    """An operating-system error at a target path; `errno` tells which."""

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_


class UnknownOwnerError(ProviderError):
    """An owner or group name that does not exist on the target."""


class OwnerNotPermittedError(ProviderError):
    """gitward may not give a file away: it runs as neither root nor the owner."""


class CommandTimeoutError(ProviderError):
    """A command ran longer than its timeout and was killed."""
