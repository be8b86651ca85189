"""Logging in, sessions, CSRF, tokens and what the store keeps of secrets."""

from __future__ import annotations

import time

import httpx
import pytest

from gitward.server.auth import (
    LoginLimiter,
    Principal,
    Role,
    hash_password,
    hash_token,
    safe_next,
    verify_password,
)

from .conftest import PASSWORD, Served, logged_in


def test_a_password_hash_is_scrypt_salted_and_verifies_only_the_password() -> None:
    first, second = hash_password("s3cret pass"), hash_password("s3cret pass")

    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert verify_password("s3cret pass", first) and verify_password("s3cret pass", second)
    assert not verify_password("s3cret pasS", first)
    assert not verify_password("s3cret pass", "scrypt$1$1$1$x$y")
    assert not verify_password("s3cret pass", "plain")


@pytest.mark.parametrize(("principal", "action", "app", "allowed"), [
    (Principal("v", Role.viewer), "read", "web", True),
    (Principal("v", Role.viewer), "sync", "web", False),
    (Principal("o", Role.operator), "suspend", "web", True),
    (Principal("o", Role.operator), "rollback", "web", False),
    (Principal("a", Role.admin), "pin", "web", True),
    (Principal("a", Role.admin, "web-*, db"), "pin", "web-eu", True),
    (Principal("a", Role.admin, "web-*, db"), "pin", "web", False),
    (Principal("a", Role.admin, "web-*"), "users", None, False),
    (Principal("a", Role.admin), "tokens", None, True),
    (Principal("a", Role.admin), "launch", None, False),
])
def test_roles_nest_and_scopes_are_name_patterns(principal: Principal, action: str,
                                                 app: str | None, allowed: bool) -> None:
    assert principal.can(action, app) is allowed


def test_login_sets_an_httponly_strict_cookie_and_the_session_reads(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.post("/login", data={"username": "vera", "password": PASSWORD,
                                             "next": "/apps/web"})
        apps = client.get("/api/v1/apps")

    assert (answer.status_code, answer.headers["location"]) == (303, "/apps/web")
    cookie = answer.headers["set-cookie"].lower()
    assert "gitward_session=" in cookie and "httponly" in cookie
    assert "samesite=strict" in cookie and "path=/" in cookie and "max-age=43200" in cookie
    assert "secure" not in cookie
    assert apps.status_code == 200


def test_a_failed_form_login_goes_back_to_the_login_page(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.post("/login", data={"username": "vera", "password": "wrong",
                                             "next": "//evil.example.com/"})

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?error=1&next=/"
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(("target", "safe"), [("/apps/web?x=1", "/apps/web?x=1"),
                                              ("//evil.example.com", "/"),
                                              ("https://evil.example.com", "/"),
                                              ("/\\evil", "/"), (None, "/")])
def test_next_only_leads_to_this_site(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_a_session_post_needs_its_csrf_token(served: Served) -> None:
    with logged_in(served, "otto") as (client, token):
        missing = client.post("/api/v1/apps/web/sync")
        wrong = client.post("/api/v1/apps/web/sync", headers={"X-CSRF-Token": "0" * 64})
        in_form = client.post("/api/v1/refresh", data={"csrf_token": token})
        right = client.post("/api/v1/apps/web/sync", headers={"X-CSRF-Token": token})

    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert missing.json()["error"]["code"] == "csrf"
    assert (in_form.status_code, right.status_code) == (202, 202)
    assert [c[0] for c in served.agent.calls] == ["fetch", "sync"]
    assert served.agent.calls[1][2] == "otto"


def test_a_token_needs_no_csrf_token(served: Served) -> None:
    with served.client("operator") as client:
        assert client.post("/api/v1/apps/web/sync").status_code == 202


def test_a_role_change_or_disabling_takes_effect_at_once(served: Served) -> None:
    with logged_in(served, "otto") as (client, token):
        served.store.set_user("otto", role="viewer")
        demoted = client.post("/api/v1/apps/web/sync", headers={"X-CSRF-Token": token})
        served.store.set_user("otto", disabled=True)
        disabled = client.get("/api/v1/apps")

    assert demoted.status_code == 403
    assert disabled.status_code == 401


def test_logout_ends_the_session(served: Served) -> None:
    with logged_in(served, "vera") as (client, token):
        cookie = client.cookies["gitward_session"]
        assert client.post("/api/v1/logout").status_code == 403  # CSRF
        assert client.post("/api/v1/logout", headers={"X-CSRF-Token": token}).status_code == 204
        replayed = httpx.get(f"{served.url}/api/v1/apps", cookies={"gitward_session": cookie})

    assert replayed.status_code == 401


def test_a_forged_or_expired_session_cookie_is_no_session(served: Served) -> None:
    with logged_in(served, "ada") as (client, _):
        cookie = client.cookies["gitward_session"]
    user, expiry, session, signature = cookie.split(".")
    forged = f"{user}.{int(expiry) + 99999}.{session}.{signature}"

    answer = httpx.get(f"{served.url}/api/v1/apps", cookies={"gitward_session": forged})

    assert answer.status_code == 401


def test_failed_logins_are_limited_per_user_with_retry_after(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        failures = [client.post("/api/v1/login", json={"username": "vera", "password": "no"})
                    for _ in range(5)]
        limited = client.post("/api/v1/login", json={"username": "vera", "password": PASSWORD})
        form = client.post("/login", data={"username": "vera", "password": PASSWORD})

    assert [f.status_code for f in failures] == [401] * 5
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 300
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert form.headers["location"].startswith("/login?error=limited")
    refused = [e for e in served.audits() if e["data"]["action"] == "login"]
    assert len(refused) == 7 and not any(e["data"]["ok"] for e in refused)


def test_the_limiter_counts_per_key_in_a_sliding_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(limit=2, window=60, clock=lambda: now[0])
    limiter.failed("user:a", "ip:1")
    limiter.failed("user:a", "ip:1")

    assert limiter.retry_after("user:a") == 60
    assert limiter.retry_after("user:b", "ip:1") == 60
    assert limiter.retry_after("user:b", "ip:2") == 0
    now[0] += 61
    assert limiter.retry_after("user:a", "ip:1") == 0


def test_an_unknown_user_and_a_wrong_password_answer_alike(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        unknown = client.post("/api/v1/login", json={"username": "nobody", "password": "x"})
        wrong = client.post("/api/v1/login", json={"username": "ada", "password": "x"})

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_a_cross_site_login_is_refused(served: Served) -> None:
    answer = httpx.post(f"{served.url}/api/v1/login",
                        json={"username": "ada", "password": PASSWORD},
                        headers={"Origin": "https://evil.example.com"})

    assert answer.status_code == 403


def test_logins_and_logouts_are_audited(served: Served) -> None:
    with logged_in(served, "ada") as (client, token):
        client.post("/api/v1/logout", headers={"X-CSRF-Token": token})

    assert [(e["data"]["who"], e["data"]["action"], e["data"]["ok"]) for e in served.audits()
            ] == [("ada", "login", True), ("ada", "logout", True)]


def test_a_browser_without_a_session_is_sent_to_the_login_page(served: Served) -> None:
    answer = httpx.get(f"{served.url}/apps/web?tab=plan", headers={"Accept": "text/html"})

    # The UI's pages may not exist yet; a 404 page is fine, a JSON 401 is not.
    assert answer.status_code in (303, 404)
    if answer.status_code == 303:
        location = httpx.URL(answer.headers["location"])
        assert location.path == "/login"
        assert location.params["next"] == "/apps/web?tab=plan"


def test_the_store_keeps_no_password_and_no_token_in_clear(served: Served) -> None:
    with logged_in(served, "ada"):
        pass
    served.store.event(None, "flush", "x")  # the WAL holds recent writes: read it too
    stored = b"".join(path.read_bytes() for path in served.db_path.parent.glob("gitward.db*"))

    assert PASSWORD.encode() not in stored
    for token in served.tokens.values():
        assert token.encode() not in stored
        assert hash_token(token).encode() in stored


def test_a_token_records_when_it_was_last_used(served: Served) -> None:
    before = time.time()
    with served.client("viewer") as client:
        client.get("/api/v1/apps")

    used = served.store.token_by_hash(hash_token(served.tokens["viewer"]))
    assert used is not None and used["last_used_at"] >= before


def test_a_malformed_authorization_header_is_401(served: Served) -> None:
    for header in ("Basic YWRhOnB3", "Bearer", "Bearer not-a-gitward-token"):
        answer = httpx.get(f"{served.url}/api/v1/apps", headers={"Authorization": header})
        assert answer.status_code == 401, header
