"""Who is asking, and what they may do.

Every request to the API or the UI is made by a `Principal`: a local user
logged in with a session cookie, or a script holding an API token. Roles
nest — ``viewer`` reads, ``operator`` also syncs, refreshes, suspends and
resumes, ``admin`` also rolls back, pins and manages users and tokens — and
each principal may be scoped to apps by name patterns (``web-*,db``).

- Passwords are kept as scrypt hashes, API tokens (``Authorization: Bearer
  gw_...``) as their SHA-256; they expire and can be revoked
  (`gitward.server.credentials`).
- A session is a stateless signed cookie (`gitward.server.sessions`). The
  user's record is read again on every request, so disabling a user or
  changing a role takes effect at once; logging out forgets the session id.
- A form or JSON POST made with a session cookie carries a CSRF token — the
  HMAC of the session id (`csrf_token`) — as form field ``csrf_token`` or
  header ``X-CSRF-Token``; requests with an API token need none.
- Failed logins are counted per user name and per client address; five in
  five minutes answer 429 with ``Retry-After`` (`gitward.server.login`).
- Every action is an audit event: who, what, which app, how, from where, and
  whether it was allowed (`audit`).

Routes use ``Depends(require("sync"))``; the ``app`` path parameter, when
there is one, scopes the check. Errors raise `ApiError`, which
`gitward.server.app` turns into ``{"error": {"code", "message"}}``. The
names of the modules above are re-exported here.
"""

from __future__ import annotations

import fnmatch
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gitward.server.credentials import TOKEN_PREFIX as TOKEN_PREFIX
from gitward.server.credentials import hash_password, hash_token, new_token, verify_password
from gitward.server.sessions import SESSION_COOKIE, AuthRuntime, install_auth, runtime_of
from gitward.server.sessions import SESSION_SECONDS as SESSION_SECONDS
from gitward.server.sessions import LoginLimiter as LoginLimiter

if TYPE_CHECKING:
    from gitward.server.context import ServerContext

__all__ = [
    "ACTIONS", "SESSION_COOKIE", "ApiError", "AuthRuntime", "Principal", "Role", "audit",
    "check_csrf", "create_auth_router", "csrf_token", "current_principal", "hash_password",
    "hash_token", "install_auth", "new_token", "read_form", "require", "safe_next",
    "verify_password",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 65_536


class Role(StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.viewer: 0, Role.operator: 1, Role.admin: 2}

ACTIONS: dict[str, Role] = {
    "read": Role.viewer,
    "sync": Role.operator, "refresh": Role.operator, "suspend": Role.operator,
    "resume": Role.operator,
    "rollback": Role.admin, "pin": Role.admin, "unpin": Role.admin, "users": Role.admin,
    "tokens": Role.admin,
}
"""The least role each action needs."""

_UNSCOPED_ACTIONS = frozenset({"users", "tokens"})  # an app-scoped admin manages no accounts


class ApiError(Exception):
    """An error answered as ``{"error": {"code": code, "message": message}}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def unauthorized(message: str = "log in or send an API token "
                                "(Authorization: Bearer gw_...)") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def app_matches(patterns: str, app: str) -> bool:
    """Whether `app` matches one of the comma-separated fnmatch `patterns`.

    >>> app_matches("web-*, db", "web-eu")
    True
    """
    return any(fnmatch.fnmatchcase(app, p.strip()) for p in patterns.split(",") if p.strip())


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (``via="session"``) or an API token (``via="token"``)."""

    name: str
    role: Role
    apps: str = "*"
    via: Literal["session", "token"] = "session"
    session_id: str | None = field(default=None, repr=False, compare=False)

    def can(self, action: str, app: str | None = None) -> bool:
        """Whether this principal may do `action` (to `app`, if given).

        >>> Principal("ada", Role.operator, "web-*").can("sync", "web-eu")
        True
        """
        needed = ACTIONS.get(action)
        if needed is None or self.role.rank < needed.rank:
            return False
        if action in _UNSCOPED_ACTIONS:
            return self.apps.strip() == "*"
        return app is None or self.sees(app)

    def sees(self, app: str) -> bool:
        """Whether `app` is within this principal's scope."""
        return app_matches(self.apps, app)


# -- who is asking ---------------------------------------------------------------

_UNREAD = object()


def current_principal(request: Request) -> Principal | None:
    """The principal behind `request`, or None; an invalid token raises 401.

    A bearer token wins over a session cookie. Read once per request.
    """
    cached = getattr(request.state, "gitward_principal", _UNREAD)
    if cached is not _UNREAD:
        return cast("Principal | None", cached)
    runtime = runtime_of(request)
    header = request.headers.get("authorization")
    if header is not None:
        principal: Principal | None = _token_principal(runtime, header)
    else:
        principal = _session_principal(runtime, request.cookies.get(SESSION_COOKIE))
    request.state.gitward_principal = principal
    return principal


def _token_principal(runtime: AuthRuntime, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        raise unauthorized("the Authorization header must be 'Bearer gw_...'")
    found = runtime.accounts.token_by_hash(hash_token(token))
    now = time.time()
    if found is None:
        raise unauthorized("unknown API token")
    if found["revoked_at"] is not None:
        raise unauthorized(f"API token {found['name']!r} was revoked")
    if found["expires_at"] is not None and found["expires_at"] <= now:
        raise unauthorized(f"API token {found['name']!r} has expired; create a new one")
    role, apps = Role(found["role"]), str(found["apps"])
    name = f"token:{found['name']}"
    if found["user"] is not None:  # a user's token never outlives or outranks its user
        owner = runtime.accounts.user(found["user"])
        if owner is None or owner["disabled"]:
            raise unauthorized(f"the user of API token {found['name']!r} is disabled or gone")
        owner_role = Role(owner["role"])
        role = role if role.rank <= owner_role.rank else owner_role
        apps = apps if owner["apps"].strip() == "*" else owner["apps"]
        name = f"{found['user']} (token {found['name']})"
    if found["last_used_at"] is None or found["last_used_at"] < now - 60:
        runtime.accounts.touch_token(found["id"])
    return Principal(name, role, apps, via="token")


def _session_principal(runtime: AuthRuntime, cookie: str | None) -> Principal | None:
    if not cookie:
        return None
    session = runtime.read_session(cookie)
    if session is None:
        return None
    user_name, session_id, _ = session
    user = runtime.accounts.user(user_name)
    if user is None or user["disabled"]:
        return None
    return Principal(user_name, Role(user["role"]), str(user["apps"]), via="session",
                     session_id=session_id)


def csrf_token(request: Request) -> str:
    """The CSRF token forms of this session must send (field ``csrf_token``); "" without one."""
    principal = current_principal(request)
    if principal is None or principal.session_id is None:
        return ""
    return runtime_of(request).sign("csrf", principal.session_id)


def check_csrf(request: Request, form_token: str | None) -> None:
    """Raise a 403 `ApiError` unless a session's POST carries its CSRF token."""
    principal = current_principal(request)
    if principal is None or principal.via == "token":
        return
    expected = csrf_token(request)
    if not form_token or not hmac.compare_digest(expected, form_token):
        raise ApiError(403, "csrf", "missing or wrong CSRF token; reload the page and try "
                                    f"again (scripts send the {CSRF_HEADER} header)")


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value wins).

    Read once and kept on the request, so a dependency and its route can both
    read it; bodies over 64 KiB are refused with 413.
    """
    cached = getattr(request.state, "gitward_form", None)
    if cached is not None:
        return cast("dict[str, str]", cached)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, "too_large", f"form is over {MAX_FORM_BYTES} bytes")
    form: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    request.state.gitward_form = form
    return form


# Declared so that OpenAPI shows the bearer scheme; `current_principal` reads the header.
_BearerCredentials = Annotated[HTTPAuthorizationCredentials | None,
                               Depends(HTTPBearer(auto_error=False,
                                                  description="An API token: gw_..."))]


def require(action: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the principal, if it may do `action`; else 401 or 403.

    The ``app`` path parameter, when the route has one, scopes the check. A
    state-changing request made with a session cookie must carry its CSRF
    token (header ``X-CSRF-Token`` or form field ``csrf_token``).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")

    async def dependency(request: Request, _credentials: _BearerCredentials) -> Principal:
        principal = await run_in_threadpool(current_principal, request)
        if principal is None:
            raise unauthorized()
        app = request.path_params.get("app")
        if not principal.can(action, app):
            if action != "read":
                await run_in_threadpool(audit, request, principal.name, action, app=app,
                                        via=principal.via, ok=False)
            what = f"{action} {app}" if app else action
            raise ApiError(403, "forbidden",
                           f"{principal.name} ({principal.role}) may not {what}")
        if request.method not in ("GET", "HEAD", "OPTIONS") and principal.via == "session":
            sent = request.headers.get(CSRF_HEADER)
            content_type = request.headers.get("content-type", "")
            if sent is None and content_type.startswith("application/x-www-form-urlencoded"):
                sent = (await read_form(request)).get(CSRF_FIELD)
            check_csrf(request, sent)
        return principal

    dependency.__name__ = f"require_{action}"
    return dependency


# -- audit -----------------------------------------------------------------------

def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def audit(request: Request, who: str, action: str, *, app: str | None = None,
          target: str | None = None, via: str | None = None, ok: bool = True,
          detail: str | None = None) -> None:
    """Record an audit event: `who` did (or tried, ``ok=False``) `action` to `target`."""
    shown = target or app or ""
    message = f"{who} {action} {shown}".rstrip() + ("" if ok else " (refused)")
    if detail:
        message += f": {detail}"
    data = {"who": who, "action": action, "app": app, "target": target, "via": via,
            "ip": client_ip(request), "ok": ok}
    runtime_of(request).ctx.store.event(app, "audit", message, data=data)


# -- login and logout ------------------------------------------------------------
# The routes are `gitward.server.login`'s; the JSON login's shapes and the redirect
# check stay here, where the UI and older imports find them.

class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class LoginAnswer(BaseModel):
    user: str
    role: Role
    apps: str
    csrf_token: str = Field(description=f"Send it as header {CSRF_HEADER} on every POST.")


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else ``/`` (no open redirects)."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 for c in target)):
        return "/"
    return target


def create_auth_router(ctx: ServerContext) -> APIRouter:
    """``POST /login`` and ``/logout`` (forms), ``POST /api/v1/login`` and ``/logout`` (JSON).

    The login form posts ``username``, ``password`` and ``next``; success
    redirects (303) to ``next`` or ``/``, failure to ``/login?error=1&next=...``
    (``error=limited`` when rate-limited). The page itself is the UI's.
    """
    # Imported here: the login routes are built on this module's names.
    from gitward.server.login import create_login_router

    return create_login_router(ctx)
