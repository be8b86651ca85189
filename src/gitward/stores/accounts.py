"""Users and API tokens as both stores keep them (see `gitward.core.seams.AuthStore`).

The rows are plain dicts so that the web layer, the CLI and the stores share
one shape; only hashes of secrets are ever given to a store.
"""

from __future__ import annotations

from gitward.core.errors import GitwardError

__all__ = ["TOKEN_FIELDS", "USER_FIELDS", "UserExistsError"]

USER_FIELDS = ("name", "password_hash", "role", "apps", "created_at", "disabled")
TOKEN_FIELDS = ("id", "name", "user", "role", "apps", "token_hash", "created_at", "expires_at",
                "revoked_at", "last_used_at")


class UserExistsError(GitwardError):
    """A user of that name already exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} already exists; choose another name or change the "
                         "existing user")
