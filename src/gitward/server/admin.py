"""Users and API tokens: the one implementation behind ``gitward user``/``gitward token``
and the API's ``/api/v1/users`` and ``/api/v1/tokens``.

`Accounts` works on an open store: it checks what is asked (names, roles, app
patterns, password length, expiry, and that no role is granted above what the
one asking holds), changes the store, and reports each change to a `Recorder`
— the CLI writes an audit event ``via`` ``cli``, the API one naming the caller.
Nothing it returns holds a password hash or a token hash; `Accounts.create_token`
is the only place a token is ever seen.

The functions taking a store URL (`user_add`, `token_create`, ...) are the
CLI's: each opens the store, does one thing through `Accounts` and closes it.

>>> created = token_create("sqlite:///gw.db", "ci", "operator", expires="30d")  # doctest: +SKIP
>>> created["token"]  # print it now; the store keeps only its SHA-256  # doctest: +SKIP
'gw_...'
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from gitward.core.errors import GitwardError
from gitward.core.seams import AuthStore, Store
from gitward.server.auth import Role, hash_password, hash_token, new_token
from gitward.stores import open_store

__all__ = ["AccountError", "Accounts", "NoSuchAccountError", "Recorder", "RoleCeilingError",
           "parse_expiry", "token_create", "token_list", "token_revoke", "user_add",
           "user_list", "user_set"]

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 8
DEFAULT_EXPIRY = "90d"
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Recorder = Callable[[str, str], None]
"""Told ``(action, target)`` after each change, e.g. ``("user-add", "ada as admin on *")``."""


class AccountError(GitwardError):
    """A user or token request that cannot be done as asked; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NoSuchAccountError(AccountError):
    """No user of that name, or no active token of that id."""


class RoleCeilingError(AccountError):
    """A role above the one the asker holds: nobody grants more than they have."""


class Accounts:
    """The users and API tokens of one store, each change checked and recorded.

    `ceiling` is the highest role the one asking may grant (the CLI, which holds
    the store itself, may grant any).

    >>> accounts = Accounts(store, record=lambda action, target: None)  # doctest: +SKIP
    >>> accounts.add_user("vera", "viewer", "web-*", "long enough")["apps"]  # doctest: +SKIP
    'web-*'
    """

    def __init__(self, store: AuthStore, record: Recorder, ceiling: Role = Role.admin) -> None:
        self.store, self.record, self.ceiling = store, record, ceiling

    # -- users ------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        """Every user: name, role, apps, created_at, disabled (never the hash)."""
        return [_public_user(row) for row in self.store.users()]

    def add_user(self, name: str, role: str, apps: str, password: str) -> dict[str, Any]:
        """Add a local user; raises `AccountError` (bad input) or `UserExistsError`."""
        if not USER_NAME.match(name):
            raise AccountError(f"user name {name!r} must be letters, digits, '.', '_', '@' "
                               "or '-' (at most 100)", "name")
        _check_password(password)
        checked_role, checked_apps = self._grantable(role), _apps(apps)
        self.store.add_user(name, hash_password(password), checked_role.value, checked_apps)
        self.record("user-add", f"{name} as {checked_role} on {checked_apps}")
        return self._user(name)

    def change_user(self, name: str, *, role: str | None = None, apps: str | None = None,
                    password: str | None = None, disabled: bool | None = None
                    ) -> dict[str, Any]:
        """Change what is given of a user; raises `NoSuchAccountError` for an unknown one."""
        if password is not None:
            _check_password(password)
        checked_role = self._grantable(role) if role is not None else None
        checked_apps = _apps(apps) if apps is not None else None
        if self.store.user(name) is None:
            raise _no_user(name)
        self.store.set_user(name, role=checked_role.value if checked_role else None,
                            apps=checked_apps,
                            password_hash=None if password is None else hash_password(password),
                            disabled=disabled)
        changes = [f"role {checked_role}" if checked_role else "",
                   f"apps {checked_apps}" if checked_apps else "",
                   "password" if password is not None else "",
                   "" if disabled is None else "disabled" if disabled else "enabled"]
        self.record("user-change", f"{name}: {', '.join(c for c in changes if c) or 'nothing'}")
        return self._user(name)

    def _user(self, name: str) -> dict[str, Any]:
        found = self.store.user(name)
        if found is None:  # removed by someone else in between
            raise _no_user(name)
        return _public_user(found)

    # -- tokens -----------------------------------------------------------------------

    def tokens(self) -> list[dict[str, Any]]:
        """Every token with its ``state`` (active, expired, revoked); never a hash."""
        now = time.time()
        return [_public_token(row, now) for row in self.store.tokens()]

    def create_token(self, name: str, role: str, apps: str = "*", user: str | None = None,
                     expires: str | None = DEFAULT_EXPIRY) -> dict[str, Any]:
        """Create an API token; the result's ``token`` is shown once and never stored.

        A token of a `user` cannot outrank that user and stops working when the
        user is disabled.
        """
        if not name.strip() or len(name) > 100:
            raise AccountError("a token needs a name of 1 to 100 characters", "name")
        checked_role, checked_apps = self._grantable(role), _apps(apps)
        expires_at = parse_expiry(expires)
        if user is not None:
            owner = self.store.user(user)
            if owner is None:
                raise AccountError(f"no user named {user!r}; `gitward user list` shows them",
                                   "user")
            if checked_role.rank > Role(owner["role"]).rank:
                raise AccountError(f"a token of {user} ({owner['role']}) cannot be "
                                   f"{checked_role}", "role")
        token = new_token()
        token_id = self.store.add_token(name, hash_token(token), checked_role.value,
                                        checked_apps, user=user, expires_at=expires_at)
        self.record("token-create", f"{token_id} {name!r} as {checked_role}")
        row = self.store.token_by_hash(hash_token(token))
        shown = _public_token(row, time.time()) if row is not None else {
            "id": token_id, "name": name, "user": user, "role": checked_role.value,
            "apps": checked_apps, "expires_at": expires_at}
        return {**shown, "token": token}

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token at once; `NoSuchAccountError` if there is no active one of that id."""
        if not self.store.revoke_token(token_id):
            raise NoSuchAccountError(f"no active token {token_id}; `gitward token list` shows "
                                     "them", "id")
        self.record("token-revoke", str(token_id))

    def _grantable(self, role: str) -> Role:
        checked = _role(role)
        if checked.rank > self.ceiling.rank:
            raise RoleCeilingError(f"the role {checked} is above yours ({self.ceiling}); "
                                   "nobody grants more than they hold", "role")
        return checked


# -- the CLI's functions, one store URL each ---------------------------------------------

def user_add(store_url: str, name: str, role: str, apps: str, password: str) -> dict[str, Any]:
    """Add a local user; raises `AccountError` (bad input) or `UserExistsError`."""
    with _opened(store_url) as accounts:
        return accounts.add_user(name, role, apps, password)


def user_set(store_url: str, name: str, *, role: str | None = None, apps: str | None = None,
             password: str | None = None, disabled: bool | None = None) -> dict[str, Any]:
    """Change a user's role, apps, password or whether it is disabled."""
    with _opened(store_url) as accounts:
        return accounts.change_user(name, role=role, apps=apps, password=password,
                                    disabled=disabled)


def user_list(store_url: str) -> list[dict[str, Any]]:
    """Every user: name, role, apps, created_at, disabled (never the hash)."""
    with _opened(store_url) as accounts:
        return accounts.users()


def token_create(store_url: str, name: str, role: str, apps: str = "*",
                 user: str | None = None, expires: str | None = DEFAULT_EXPIRY
                 ) -> dict[str, Any]:
    """Create an API token (see `Accounts.create_token`); ``token`` is shown once."""
    with _opened(store_url) as accounts:
        return accounts.create_token(name, role, apps, user, expires)


def token_list(store_url: str) -> list[dict[str, Any]]:
    """Every token with its ``state`` (active, expired, revoked); never a hash."""
    with _opened(store_url) as accounts:
        return accounts.tokens()


def token_revoke(store_url: str, token_id: int) -> None:
    """Revoke a token at once; raises `AccountError` if there is no active one of that id."""
    with _opened(store_url) as accounts:
        accounts.revoke_token(token_id)


def parse_expiry(expires: str | None, now: float | None = None) -> float | None:
    """``"30d"`` → the epoch time 30 days from now; ``None``/``"never"`` → None.

    >>> parse_expiry("12h", now=0.0)
    43200.0
    """
    if expires is None or expires.strip().lower() in ("", "never", "none"):
        return None
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", expires.lower())
    if not match:
        raise AccountError(f"expiry {expires!r} must be a number and a unit (m, h, d, w), "
                           "e.g. 30d, or 'never'", "expires")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise AccountError(f"expiry {expires!r} must be in the future", "expires")
    return (time.time() if now is None else now) + seconds


# -- helpers ----------------------------------------------------------------------------

@contextmanager
def _opened(store_url: str) -> Iterator[Accounts]:
    store = open_store(store_url)
    try:
        yield Accounts(cast(AuthStore, store), lambda action, target: _cli_audit(
            store, action, target))
    finally:
        store.close()


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _cli_audit(store: Store, action: str, target: str) -> None:
    who = _who()
    store.event(None, "audit", f"{who} {action} {target}",
                data={"who": who, "action": action, "app": None, "target": target,
                      "via": "cli", "ip": None, "ok": True})


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"role {role!r} does not exist; use viewer, operator or admin",
                           "role") from None


def _apps(apps: str) -> str:
    patterns = [p.strip() for p in apps.split(",") if p.strip()]
    if not patterns:
        raise AccountError("apps must name at least one app or pattern, e.g. 'web-*'",
                           "apps")
    return ",".join(patterns)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters",
                           "password")


def _no_user(name: str) -> NoSuchAccountError:
    return NoSuchAccountError(f"no user named {name!r}; `gitward user list` shows them", "name")


def _public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "password_hash"}


def _public_token(row: dict[str, Any], now: float) -> dict[str, Any]:
    state = ("revoked" if row["revoked_at"] is not None
             else "expired" if row["expires_at"] is not None and row["expires_at"] <= now
             else "active")
    return {**{k: v for k, v in row.items() if k != "token_hash"}, "state": state}
