"""/api/v1/users and /api/v1/tokens: who may manage accounts, what they answer and keep."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitward.server.admin import Accounts, RoleCeilingError
from gitward.server.auth import Role, hash_password, hash_token, verify_password
from gitward.stores.sql import SqlStore

from .conftest import PASSWORD, Served, logged_in

NEW_PASSWORD = "a brand new password"
CALLERS = ["anonymous", "viewer", "operator", "admin", "scoped", "expired", "revoked"]
# (method, path, body, success status, the permission auth.py checks)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    ("GET", "/api/v1/users", None, 200, "users"),
    ("POST", "/api/v1/users", {"name": "nina", "role": "viewer", "password": NEW_PASSWORD},
     201, "users"),
    ("PATCH", "/api/v1/users/vera", {"role": "operator"}, 200, "users"),
    ("GET", "/api/v1/tokens", None, 200, "tokens"),
    ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer"}, 201, "tokens"),
    ("DELETE", "/api/v1/tokens/3", None, 200, "tokens"),  # the viewer token
]


def call(served: Served, who: str, method: str, path: str,
         body: dict[str, Any] | None = None) -> httpx.Response:
    with served.client(None if who == "anonymous" else who) as client:
        return client.request(method, path, json=body)


def accounts_now(served: Served) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tokens = [{k: v for k, v in t.items() if k != "last_used_at"} for t in served.store.tokens()]
    return served.store.users(), tokens


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "status", "permission"), ENDPOINTS,
                         ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
def test_only_an_admin_of_every_app_manages_accounts(
        served: Served, who: str, method: str, path: str, body: dict[str, Any] | None,
        status: int, permission: str) -> None:
    assert served.token_ids["viewer"] == 3
    before = accounts_now(served)
    answer = call(served, who, method, path, body)

    if who in ("anonymous", "expired", "revoked"):
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
    elif who != "admin":  # viewer, operator, and "scoped": an admin of app db only
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
        assert answer.json()["error"]["message"].endswith(f"may not {permission}")
        refusal = served.audits()[-1]["data"]
        assert (refusal["who"], refusal["action"], refusal["ok"]) == (
            f"token:{who}", permission, False)
    else:
        assert answer.status_code == status, answer.text
    assert (accounts_now(served) == before) == (who != "admin" or method == "GET")


def test_a_scoped_admin_session_may_act_on_its_apps_but_not_on_accounts(
        served: Served) -> None:
    served.store.add_user("dora", hash_password(PASSWORD), "admin", "db")
    with logged_in(served, "dora") as (client, csrf):
        users = client.get("/api/v1/users")
        token = client.post("/api/v1/tokens", json={"name": "mine", "role": "viewer",
                                                    "apps": "db"},
                            headers={"X-CSRF-Token": csrf})
        pin = client.post("/api/v1/apps/db/pin", json={"revision": "1b2c3d4e"},
                          headers={"X-CSRF-Token": csrf})

    assert (users.status_code, token.status_code, pin.status_code) == (403, 403, 200)
    assert len(served.store.tokens()) == 6


def test_an_admin_session_needs_its_csrf_token_to_change_accounts(served: Served) -> None:
    body = {"name": "nina", "role": "viewer", "password": NEW_PASSWORD}
    with logged_in(served, "ada") as (client, csrf):
        listed = client.get("/api/v1/users")
        missing = client.post("/api/v1/users", json=body)
        added = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})

    assert (listed.status_code, missing.status_code, added.status_code) == (200, 403, 201)
    assert missing.json()["error"]["code"] == "csrf"
    assert served.audits()[-1]["data"]["who"] == "ada"


def test_a_user_is_added_listed_changed_and_disabled_and_logins_follow(
        served: Served) -> None:
    with served.client("admin") as client:
        added = client.post("/api/v1/users", json={"name": "nina", "role": "viewer",
                                                   "apps": "web-*, db",
                                                   "password": NEW_PASSWORD})
        taken = client.post("/api/v1/users", json={"name": "nina", "role": "admin",
                                                   "password": NEW_PASSWORD})
        with logged_in(served, "nina", NEW_PASSWORD) as (nina, csrf):
            assert nina.get("/api/v1/apps").status_code == 200
            assert nina.post("/api/v1/refresh", headers={"X-CSRF-Token": csrf}
                             ).status_code == 403
            promoted = client.patch("/api/v1/users/nina", json={"role": "operator"})
            assert nina.post("/api/v1/refresh", headers={"X-CSRF-Token": csrf}
                             ).status_code == 202
            disabled = client.patch("/api/v1/users/nina", json={"disabled": True,
                                                                "password": PASSWORD})
            assert nina.get("/api/v1/apps").status_code == 401
        listed = client.get("/api/v1/users").json()["users"]
        unknown = client.patch("/api/v1/users/nobody", json={"disabled": True})

    assert added.status_code == 201
    assert added.json()["user"] == {**added.json()["user"], "name": "nina", "role": "viewer",
                                    "apps": "web-*,db", "disabled": False}
    assert taken.status_code == 409 and "'nina' already exists" in taken.json()["error"][
        "message"]
    assert promoted.json()["user"]["role"] == "operator"
    assert disabled.json()["user"]["disabled"] is True
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [
        ("ada", "admin", False), ("nina", "operator", True), ("otto", "operator", False),
        ("sam", "operator", False), ("vera", "viewer", False)]
    assert set(listed[0]) == {"name", "role", "apps", "disabled", "created_at"}
    stored = served.store.user("nina")
    assert stored is not None and verify_password(PASSWORD, stored["password_hash"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("no user named 'nobody'")


def test_a_token_is_shown_once_works_for_its_role_and_stops_when_revoked(
        served: Served) -> None:
    with served.client("admin") as client:
        made = client.post("/api/v1/tokens", json={"name": "deploy bot", "role": "operator",
                                                   "apps": "web", "expires": "30d"})
        created = made.json()
        listed = client.get("/api/v1/tokens").json()["tokens"]
        with httpx.Client(base_url=served.url, timeout=10,
                          headers={"Authorization": f"Bearer {created['token']}"}) as bot:
            synced = bot.post("/api/v1/apps/web/sync").status_code
            elsewhere = bot.post("/api/v1/apps/db/sync").status_code
            revoked = client.delete(f"/api/v1/tokens/{created['id']}")
            after = bot.get("/api/v1/apps").status_code
        again = client.delete(f"/api/v1/tokens/{created['id']}")
        unknown = client.delete("/api/v1/tokens/999")

    assert made.status_code == 201 and created["token"].startswith("gw_")
    assert (created["role"], created["apps"], created["state"], created["user"]) == (
        "operator", "web", "active", None)
    assert created["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=60)
    assert [(t["name"], t["state"]) for t in listed][-1] == ("deploy bot", "active")
    assert {t["state"] for t in listed} == {"active", "expired", "revoked"}
    assert all(set(t) == set(created) - {"token"} for t in listed)
    assert (synced, elsewhere, after) == (202, 403, 401)
    assert revoked.json() == {"id": created["id"], "revoked": True}
    assert again.status_code == unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("no active token 999")


def test_a_users_token_never_outranks_the_user(served: Served) -> None:
    with served.client("admin") as client:
        too_high = client.post("/api/v1/tokens", json={"name": "v", "role": "admin",
                                                       "user": "vera"})
        mine = client.post("/api/v1/tokens", json={"name": "v", "role": "viewer",
                                                   "user": "vera", "expires": "never"})

    assert too_high.status_code == 422
    assert too_high.json()["error"]["message"] == "body.role: a token of vera (viewer) " \
                                                  "cannot be admin"
    assert (mine.json()["user"], mine.json()["expires_at"]) == ("vera", None)


def test_nobody_grants_a_role_above_their_own(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'gitward.db'}") as store:
        operator = Accounts(store, lambda action, target: None, ceiling=Role.operator)
        operator.create_token("ci", "operator")
        with pytest.raises(RoleCeilingError, match=r"role admin is above yours \(operator\)"):
            operator.create_token("root", "admin")
        with pytest.raises(RoleCeilingError):
            operator.add_user("eve", "admin", "*", NEW_PASSWORD)

        assert [t["role"] for t in store.tokens()] == ["operator"] and store.users() == []


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/v1/users", {"name": "nina", "role": "viewer", "password": "short"},
     "body.password"),
    ("POST", "/api/v1/users", {"name": "nina", "role": "root", "password": NEW_PASSWORD},
     "body.role"),
    ("POST", "/api/v1/users", {"name": "ni na", "role": "viewer", "password": NEW_PASSWORD},
     "body.name"),
    ("POST", "/api/v1/users", {"name": "nina", "role": "viewer", "password": NEW_PASSWORD,
                               "apps": " , "}, "body.apps"),
    ("POST", "/api/v1/users", {"name": "nina", "role": "viewer", "password": NEW_PASSWORD,
                               "admin": True}, "body.admin"),
    ("PATCH", "/api/v1/users/vera", {"password": "short"}, "body.password"),
    ("PATCH", "/api/v1/users/vera", {"role": "root"}, "body.role"),
    ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer", "expires": "1y"},
     "body.expires"),
    ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer", "expires": "0d"},
     "body.expires"),
    ("POST", "/api/v1/tokens", {"name": "  ", "role": "viewer"}, "body.name"),
    ("POST", "/api/v1/tokens", {"name": "ci", "role": "viewer", "user": "bob"}, "body.user"),
    ("DELETE", "/api/v1/tokens/0", None, "path.token_id"),
])
def test_invalid_account_input_is_422_naming_the_field(
        served: Served, method: str, path: str, body: dict[str, Any] | None,
        field: str) -> None:
    before = accounts_now(served)
    answer = call(served, "admin", method, path, body)

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid" and error["message"].startswith(f"{field}: ")
    assert "short" not in error["message"]  # the password is not echoed back
    assert accounts_now(served) == before


def test_no_secret_is_answered_audited_or_stored_in_clear(served: Served) -> None:
    with served.client("admin") as client:
        client.post("/api/v1/users", json={"name": "nina", "role": "viewer",
                                           "password": NEW_PASSWORD})
        client.patch("/api/v1/users/vera", json={"password": NEW_PASSWORD + "!"})
        client.patch("/api/v1/users/nobody", json={"password": NEW_PASSWORD + "?"})
        token = client.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}
                            ).json()["token"]
        answers = [client.get(p).text for p in ("/api/v1/users", "/api/v1/tokens",
                                                "/api/v1/events?limit=1000")]
    served.store.event(None, "flush", "x")  # the WAL holds recent writes: read it too
    stored = b"".join(path.read_bytes() for path in served.db_path.parent.glob("gitward.db*"))

    for secret in (NEW_PASSWORD, token, hash_token(token), "scrypt$"):
        assert all(secret not in answer for answer in answers), secret
    for secret in (NEW_PASSWORD, PASSWORD, token):
        assert secret.encode() not in stored
    assert hash_token(token).encode() in stored


def test_every_account_call_is_audited_with_who_what_and_whether_it_worked(
        served: Served) -> None:
    with served.client("admin") as client:
        client.get("/api/v1/users")
        client.post("/api/v1/users", json={"name": "nina", "role": "viewer",
                                           "password": NEW_PASSWORD})
        client.post("/api/v1/users", json={"name": "nina", "role": "viewer",
                                           "password": NEW_PASSWORD})
        client.patch("/api/v1/users/nina", json={"role": "operator", "disabled": True})
        client.get("/api/v1/tokens")
        made = client.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).json()
        client.delete(f"/api/v1/tokens/{made['id']}")
        client.delete("/api/v1/tokens/999")

    assert [(e["data"]["who"], e["data"]["action"], e["data"]["target"], e["data"]["ok"],
             e["data"]["via"]) for e in served.audits()] == [
        ("token:admin", "user-list", None, True, "token"),
        ("token:admin", "user-add", "nina as viewer on *", True, "token"),
        ("token:admin", "user-add", "nina", False, "token"),
        ("token:admin", "user-change", "nina: role operator, disabled", True, "token"),
        ("token:admin", "token-list", None, True, "token"),
        ("token:admin", "token-create", f"{made['id']} 'ci' as viewer", True, "token"),
        ("token:admin", "token-revoke", str(made["id"]), True, "token"),
        ("token:admin", "token-revoke", "999", False, "token")]
    assert served.audits()[2]["message"].endswith("(refused): user 'nina' already exists; "
                                                  "choose another name or change the "
                                                  "existing user")


def test_the_openapi_document_describes_the_account_routes(served: Served) -> None:
    document = httpx.get(f"{served.url}/api/v1/openapi.json").json()
    paths, schemas = document["paths"], document["components"]["schemas"]

    assert {"get", "post"} <= set(paths["/api/v1/users"])
    assert "patch" in paths["/api/v1/users/{name}"]
    assert "delete" in paths["/api/v1/tokens/{token_id}"]
    assert {"201", "401", "403", "409", "422"} <= set(paths["/api/v1/users"]["post"]
                                                      ["responses"])
    assert "404" in paths["/api/v1/users/{name}"]["patch"]["responses"]
    assert "password" not in schemas["UserView"]["properties"]
    assert schemas["NewUser"]["properties"]["password"]["writeOnly"] is True
    assert "token" in schemas["CreatedToken"]["properties"]
    assert "token" not in schemas["TokenView"]["properties"]
    assert set(schemas["TokenView"]["properties"]["state"]["enum"]) == {
        "active", "expired", "revoked"}
