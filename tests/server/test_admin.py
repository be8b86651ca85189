"""`gitward user` and `gitward token`: the bodies the CLI calls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitward.server import admin
from gitward.server.auth import verify_password
from gitward.stores.accounts import UserExistsError
from gitward.stores.sql import SqlStore


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gitward.db'}"


def test_a_user_is_added_with_a_hashed_password_and_listed_without_it(url: str) -> None:
    added = admin.user_add(url, "ada", "admin", "web-*, db", "long enough")

    assert "password_hash" not in added and added["apps"] == "web-*,db"
    assert [(u["name"], u["role"]) for u in admin.user_list(url)] == [("ada", "admin")]
    assert all("password_hash" not in u for u in admin.user_list(url))
    with SqlStore(url) as store:
        stored = store.user("ada")
        audits = [e["message"] for e in store.events() if e["kind"] == "audit"]
    assert stored is not None and verify_password("long enough", stored["password_hash"])
    assert audits[0].endswith("user-add ada as admin on web-*,db")


@pytest.mark.parametrize(("name", "role", "password", "says"), [
    ("ada", "root", "long enough", "role 'root' does not exist"),
    ("ada", "admin", "short", "at least 8"),
    ("a b", "admin", "long enough", "user name 'a b'"),
])
def test_a_bad_user_is_refused_naming_the_problem(url: str, name: str, role: str,
                                                  password: str, says: str) -> None:
    with pytest.raises(admin.AccountError, match=says):
        admin.user_add(url, name, role, "*", password)


def test_a_taken_name_is_refused(url: str) -> None:
    admin.user_add(url, "ada", "admin", "*", "long enough")
    with pytest.raises(UserExistsError):
        admin.user_add(url, "ada", "viewer", "*", "long enough")


def test_a_token_is_shown_once_listed_with_its_state_and_revoked(url: str) -> None:
    created = admin.token_create(url, "ci", "operator", expires="30d")
    admin.token_create(url, "forever", "viewer", expires="never")

    assert created["token"].startswith("gw_")
    assert created["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=60)
    listed = admin.token_list(url)
    assert [(t["name"], t["state"]) for t in listed] == [("ci", "active"), ("forever", "active")]
    assert all("token_hash" not in t and "token" not in t for t in listed)
    admin.token_revoke(url, created["id"])
    assert admin.token_list(url)[0]["state"] == "revoked"
    with pytest.raises(admin.AccountError, match="no active token"):
        admin.token_revoke(url, created["id"])


def test_a_users_token_cannot_outrank_the_user(url: str) -> None:
    admin.user_add(url, "vera", "viewer", "*", "long enough")
    with pytest.raises(admin.AccountError, match="cannot be admin"):
        admin.token_create(url, "mine", "admin", user="vera")
    with pytest.raises(admin.AccountError, match="no user named 'bob'"):
        admin.token_create(url, "mine", "viewer", user="bob")


@pytest.mark.parametrize("expires", ["30", "1y", "-1d", "0d"])
def test_a_bad_expiry_is_refused(expires: str) -> None:
    with pytest.raises(admin.AccountError, match="expir"):
        admin.parse_expiry(expires)


def test_a_user_is_changed_and_disabled(url: str) -> None:
    admin.user_add(url, "otto", "operator", "*", "long enough")
    changed = admin.user_set(url, "otto", role="viewer", disabled=True)

    assert (changed["role"], changed["disabled"]) == ("viewer", True)
    with pytest.raises(admin.AccountError, match="no user named"):
        admin.user_set(url, "nobody", role="viewer")
