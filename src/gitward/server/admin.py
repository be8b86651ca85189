"""Users and API tokens from the command line: the bodies of ``gitward user`` and
``gitward token``.

Each function opens the store, does one thing, records an audit event (``via``
``cli``) and returns plain data for the CLI to print; none returns a password
hash or a token hash. `token_create` is the only place a token is ever seen:

>>> created = token_create("sqlite:///gw.db", "ci", "operator", expires="30d")  # doctest: +SKIP
>>> created["token"]  # print it now; the store keeps only its SHA-256  # doctest: +SKIP
'gw_...'
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from gitward.core.errors import GitwardError
from gitward.core.seams import AuthStore, Store
from gitward.server.auth import Role, hash_password, hash_token, new_token
from gitward.stores import open_store

__all__ = ["AccountError", "parse_expiry", "token_create", "token_list", "token_revoke",
           "user_add", "user_list", "user_set"]

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 8
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class AccountError(GitwardError):
    """A user or token request that cannot be done as asked."""


@contextmanager
def _opened(store_url: str) -> Iterator[tuple[Store, AuthStore]]:
    store = open_store(store_url)
    try:
        yield store, cast(AuthStore, store)
    finally:
        store.close()


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _audit(store: Store, action: str, target: str) -> None:
    who = _who()
    store.event(None, "audit", f"{who} {action} {target}",
                data={"who": who, "action": action, "app": None, "target": target,
                      "via": "cli", "ip": None, "ok": True})


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"role {role!r} does not exist; use viewer, operator or admin"
                           ) from None


def _apps(apps: str) -> str:
    patterns = [p.strip() for p in apps.split(",") if p.strip()]
    if not patterns:
        raise AccountError("--apps needs at least one app name or pattern, e.g. 'web-*'")
    return ",".join(patterns)


def _public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "password_hash"}


def user_add(store_url: str, name: str, role: str, apps: str, password: str) -> dict[str, Any]:
    """Add a local user; raises `AccountError` (bad input) or `UserExistsError`."""
    if not USER_NAME.match(name):
        raise AccountError(f"user name {name!r} must be letters, digits, '.', '_', '@' or '-' "
                           "(at most 100)")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    checked_role, checked_apps = _role(role), _apps(apps)
    with _opened(store_url) as (store, accounts):
        accounts.add_user(name, hash_password(password), checked_role.value, checked_apps)
        _audit(store, "user-add", f"{name} as {checked_role} on {checked_apps}")
        found = accounts.user(name)
    assert found is not None
    return _public_user(found)


def user_set(store_url: str, name: str, *, role: str | None = None, apps: str | None = None,
             password: str | None = None, disabled: bool | None = None) -> dict[str, Any]:
    """Change a user's role, apps, password or whether it is disabled."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    with _opened(store_url) as (store, accounts):
        changed = accounts.set_user(
            name, role=_role(role).value if role is not None else None,
            apps=_apps(apps) if apps is not None else None,
            password_hash=hash_password(password) if password is not None else None,
            disabled=disabled)
        if not changed:
            raise AccountError(f"no user named {name!r}; `gitward user list` shows them")
        _audit(store, "user-change", name)
        found = accounts.user(name)
    assert found is not None
    return _public_user(found)


def user_list(store_url: str) -> list[dict[str, Any]]:
    """Every user: name, role, apps, created_at, disabled (never the hash)."""
    with _opened(store_url) as (_, accounts):
        return [_public_user(row) for row in accounts.users()]


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
                           "e.g. 30d, or 'never'")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise AccountError(f"expiry {expires!r} must be in the future")
    return (time.time() if now is None else now) + seconds


def token_create(store_url: str, name: str, role: str, apps: str = "*",
                 user: str | None = None, expires: str | None = "90d") -> dict[str, Any]:
    """Create an API token; the result's ``token`` is shown once and never stored.

    A token of a `user` cannot outrank that user and stops working when the
    user is disabled.
    """
    if not name.strip() or len(name) > 100:
        raise AccountError("a token needs a --name of 1 to 100 characters")
    checked_role, checked_apps = _role(role), _apps(apps)
    expires_at = parse_expiry(expires)
    token = new_token()
    with _opened(store_url) as (store, accounts):
        if user is not None:
            owner = accounts.user(user)
            if owner is None:
                raise AccountError(f"no user named {user!r}; `gitward user list` shows them")
            if checked_role.rank > Role(owner["role"]).rank:
                raise AccountError(f"a token of {user} ({owner['role']}) cannot be "
                                   f"{checked_role}")
        token_id = accounts.add_token(name, hash_token(token), checked_role.value,
                                      checked_apps, user=user, expires_at=expires_at)
        _audit(store, "token-create", f"{token_id} {name!r} as {checked_role}")
    return {"id": token_id, "name": name, "user": user, "role": checked_role.value,
            "apps": checked_apps, "expires_at": expires_at, "token": token}


def token_list(store_url: str) -> list[dict[str, Any]]:
    """Every token with its ``state`` (active, expired, revoked); never a hash."""
    now = time.time()
    with _opened(store_url) as (_, accounts):
        rows = accounts.tokens()
    listed = []
    for row in rows:
        state = ("revoked" if row["revoked_at"] is not None
                 else "expired" if row["expires_at"] is not None and row["expires_at"] <= now
                 else "active")
        listed.append({**{k: v for k, v in row.items() if k != "token_hash"}, "state": state})
    return listed


def token_revoke(store_url: str, token_id: int) -> None:
    """Revoke a token at once; raises `AccountError` if there is no active one of that id."""
    with _opened(store_url) as (store, accounts):
        if not accounts.revoke_token(token_id):
            raise AccountError(f"no active token {token_id}; `gitward token list` shows them")
        _audit(store, "token-revoke", str(token_id))
