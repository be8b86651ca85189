"""What can go wrong while keeping versions current, one type per cause.

Each message names the policy, the file and line, or the version source (its
URL with credentials masked) and says what to do. All are `GitwardError`s, so
the CLI prints them on one line and nothing is committed after one is raised.
"""

from __future__ import annotations

from gitward.core.errors import GitwardError, ManifestError

__all__ = ["MarkerError", "UpdateCommitError", "UpdatePolicyError", "VersionSourceError"]


class UpdatePolicyError(ManifestError):
    """A `kind: UpdatePolicy` document that does not fit the schema, or a duplicate name."""


class MarkerError(ManifestError):
    """A ``# gitward:update`` marker that names no policy or sits on a non-scalar value."""


class VersionSourceError(GitwardError):
    """A registry, package index, Git remote or HTTP endpoint that gave no usable answer."""


class UpdateCommitError(GitwardError):
    """The update commit could not be made or pushed (after the retries a race allows)."""
