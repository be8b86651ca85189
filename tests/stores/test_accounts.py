"""Users, API tokens and suspensions, on every store."""

from __future__ import annotations

import time
from typing import cast

import pytest

from gitward.core.seams import AuthStore, Store
from gitward.stores.accounts import UserExistsError


def auth(store: Store) -> AuthStore:
    return cast(AuthStore, store)


def test_a_user_is_kept_with_its_role_and_apps(store: Store) -> None:
    accounts = auth(store)
    accounts.add_user("ada", "scrypt$hash", "operator", "web-*")
    found = accounts.user("ada")
    assert found is not None
    assert (found["name"], found["password_hash"], found["role"], found["apps"],
            found["disabled"]) == ("ada", "scrypt$hash", "operator", "web-*", False)
    assert found["created_at"] <= time.time()
    assert accounts.user("bob") is None


def test_a_taken_user_name_is_refused(store: Store) -> None:
    accounts = auth(store)
    accounts.add_user("ada", "h1", "viewer")
    with pytest.raises(UserExistsError, match="ada"):
        accounts.add_user("ada", "h2", "admin")
    found = accounts.user("ada")
    assert found is not None and found["role"] == "viewer"


def test_users_are_listed_by_name_and_changed_field_by_field(store: Store) -> None:
    accounts = auth(store)
    accounts.add_user("zoe", "h", "viewer")
    accounts.add_user("ada", "h", "viewer")
    assert [u["name"] for u in accounts.users()] == ["ada", "zoe"]
    assert accounts.set_user("ada", role="admin", disabled=True)
    found = accounts.user("ada")
    assert found is not None
    assert (found["role"], found["disabled"], found["password_hash"]) == ("admin", True, "h")
    assert not accounts.set_user("nobody", role="admin")


def test_tokens_are_found_by_hash_revoked_once_and_touched(store: Store) -> None:
    accounts = auth(store)
    first = accounts.add_token("ci", "a" * 64, "operator", "web", expires_at=time.time() + 60)
    second = accounts.add_token("mine", "b" * 64, "viewer", user="ada")
    assert first != second
    found = accounts.token_by_hash("a" * 64)
    assert found is not None
    assert (found["id"], found["name"], found["role"], found["apps"], found["user"],
            found["revoked_at"], found["last_used_at"]) == (first, "ci", "operator", "web",
                                                             None, None, None)
    assert accounts.token_by_hash("c" * 64) is None
    accounts.touch_token(first)
    touched = accounts.token_by_hash("a" * 64)
    assert touched is not None and touched["last_used_at"] is not None
    assert accounts.revoke_token(first)
    assert not accounts.revoke_token(first)
    assert not accounts.revoke_token(999)
    assert [(t["id"], t["revoked_at"] is not None) for t in accounts.tokens()] == [
        (first, True), (second, False)]


def test_an_app_is_suspended_and_resumed(store: Store) -> None:
    accounts = auth(store)
    assert not store.app_state("web").suspended
    accounts.set_suspended("web", True)
    assert store.app_state("web").suspended
    store.pin("web", "c0ffee")
    assert store.app_state("web").suspended
    accounts.set_suspended("web", False)
    assert not store.app_state("web").suspended
    assert [a.app for a in store.apps()] == ["web"]
