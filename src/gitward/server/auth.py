"""Who is asking, and what they may do.

Every request to the API or the UI is made by a `Principal`: a local user
logged in with a session cookie, or a script holding an API token. Roles
nest — ``viewer`` reads, ``operator`` also syncs, refreshes, suspends and
resumes, ``admin`` also rolls back, pins and manages users and tokens — and
each principal may be scoped to apps by name patterns (``web-*,db``).

- Passwords are kept as scrypt hashes (`hash_password`, `verify_password`).
- A session is a stateless signed cookie (``gitward_session``: user, expiry
  and a random session id, HMAC-SHA256 with the server's secret key). The
  user's record is read again on every request, so disabling a user or
  changing a role takes effect at once; logging out forgets the session id.
- A form or JSON POST made with a session cookie carries a CSRF token — the
  HMAC of the session id (`csrf_token`) — as form field ``csrf_token`` or
  header ``X-CSRF-Token``; requests with an API token need none.
- API tokens (``Authorization: Bearer gw_...``) are stored as their SHA-256,
  expire and can be revoked.
- Failed logins are counted per user name and per client address; five in
  five minutes answer 429 with ``Retry-After``.
- Every action is an audit event: who, what, which app, how, from where, and
  whether it was allowed (`audit`).

Routes use ``Depends(require("sync"))``; the ``app`` path parameter, when
there is one, scopes the check. Errors raise `ApiError`, which
`gitward.server.app` turns into ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import base64
import collections
import fnmatch
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from gitward.core.seams import AuthStore
    from gitward.server.context import ServerContext

__all__ = [
    "ACTIONS", "SESSION_COOKIE", "ApiError", "AuthRuntime", "Principal", "Role", "audit",
    "check_csrf", "create_auth_router", "csrf_token", "current_principal", "hash_password",
    "hash_token", "install_auth", "new_token", "read_form", "require", "safe_next",
    "verify_password",
]

SESSION_COOKIE = "gitward_session"
SESSION_SECONDS = 12 * 3600
TOKEN_PREFIX = "gw_"
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


# -- passwords and tokens ------------------------------------------------------------

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in unpadded base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R,
                            p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` hashes to `stored`; False for anything malformed."""
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(hash_text)
    except ValueError:
        return False
    # Bounds keep a tampered row from costing the server more than a login should.
    if scheme != "scrypt" or not (2 <= n <= 2 ** 17 and 1 <= r <= 16 and 1 <= p <= 4
                                  and 16 <= len(expected) <= 64):
        return False
    try:
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p,
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def _burn_password_time(password: str) -> None:
    """Cost an unknown user's login as much as a known one's (no user enumeration)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _DUMMY_HASH)


def new_token() -> str:
    """A fresh API token: ``gw_`` and 43 URL-safe characters."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64") from None


# -- the per-server state ------------------------------------------------------------

class LoginLimiter:
    """Failed logins per key (``user:ada``, ``ip:10.0.0.7``) in a sliding window."""

    def __init__(self, limit: int = 5, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until the most limited of `keys` may try again; 0 if none is limited."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.limit:
                    wait = max(wait, failures[-self.limit] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > 10_000:  # forget idle keys, so memory stays bounded
                for stale in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[stale]
            for key in keys:
                self._failures.setdefault(key, collections.deque(maxlen=self.limit * 2)
                                          ).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> collections.deque[float]:
        failures = self._failures.get(key, collections.deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures


class AuthRuntime:
    """What authentication keeps per server: the context, failed logins, ended sessions."""

    def __init__(self, ctx: ServerContext, limiter: LoginLimiter | None = None) -> None:
        if len(ctx.secret_key) < 16:
            raise ValueError("the server's secret key must be at least 16 bytes")
        self.ctx = ctx
        self.limiter = limiter or LoginLimiter()
        self._ended: dict[str, float] = {}  # session id -> its expiry
        self._lock = threading.Lock()

    @property
    def accounts(self) -> AuthStore:
        return cast("AuthStore", self.ctx.store)

    def sign(self, purpose: str, message: str) -> str:
        return hmac.new(self.ctx.secret_key, f"{purpose}|{message}".encode(),
                        hashlib.sha256).hexdigest()

    def session_cookie(self, user: str, now: float | None = None) -> tuple[str, str]:
        """(cookie value, session id) for a fresh session of `user`."""
        expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
        session_id = secrets.token_urlsafe(16)
        body = f"{_b64(user.encode())}.{expires}.{session_id}"
        return f"{body}.{self.sign('session', body)}", session_id

    def read_session(self, value: str) -> tuple[str, str, int] | None:
        """(user, session id, expiry) of a valid, unexpired, not ended cookie."""
        body, _, signature = value.rpartition(".")
        if not body or not hmac.compare_digest(self.sign("session", body), signature):
            return None
        try:
            user_text, expires_text, session_id = body.split(".")
            user, expires = _unb64(user_text).decode(), int(expires_text)
        except (ValueError, UnicodeDecodeError):
            return None
        if expires <= time.time():
            return None
        with self._lock:
            if session_id in self._ended:
                return None
        return user, session_id, expires

    def end_session(self, session_id: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            for stale in [s for s, until in self._ended.items() if until <= now]:
                del self._ended[stale]
            self._ended[session_id] = expires


def install_auth(app: Any, ctx: ServerContext) -> AuthRuntime:
    """Make `ctx` the one authentication of `app` (a FastAPI app)."""
    runtime = AuthRuntime(ctx)
    app.state.gitward_auth = runtime
    return runtime


def _runtime(request: Request) -> AuthRuntime:
    runtime = getattr(request.app.state, "gitward_auth", None)
    if runtime is None:
        raise RuntimeError("authentication is not installed; build the app with "
                           "gitward.server.app.create_server")
    return cast(AuthRuntime, runtime)


# -- who is asking ---------------------------------------------------------------

_UNREAD = object()


def current_principal(request: Request) -> Principal | None:
    """The principal behind `request`, or None; an invalid token raises 401.

    A bearer token wins over a session cookie. Read once per request.
    """
    cached = getattr(request.state, "gitward_principal", _UNREAD)
    if cached is not _UNREAD:
        return cast("Principal | None", cached)
    runtime = _runtime(request)
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
    return _runtime(request).sign("csrf", principal.session_id)


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
    _runtime(request).ctx.store.event(app, "audit", message, data=data)


# -- login and logout --------------------------------------------------------------

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
    router = APIRouter()

    @router.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        _refuse_cross_site(request)
        form = await read_form(request)
        target = safe_next(form.get("next"))
        try:
            _, cookie, _ = await run_in_threadpool(
                _log_in, request, form.get("username", ""), form.get("password", ""))
        except ApiError as error:
            reason = "limited" if error.status == 429 else "1"
            return RedirectResponse(f"/login?error={reason}&next={quote(target)}",
                                    status_code=303)
        response = RedirectResponse(target, status_code=303)
        _set_session(response, request, cookie)
        return response

    @router.post("/api/v1/login", tags=["auth"], response_model=LoginAnswer,
                 responses={401: {"description": "Wrong user name or password"},
                            429: {"description": "Too many failed logins"}})
    async def login_json(body: LoginRequest, request: Request) -> JSONResponse:
        """Log in for scripts: sets the session cookie, returns the CSRF token."""
        _refuse_cross_site(request)
        user, cookie, session_id = await run_in_threadpool(
            _log_in, request, body.username, body.password)
        answer = LoginAnswer(user=user["name"], role=Role(user["role"]), apps=user["apps"],
                             csrf_token=_runtime(request).sign("csrf", session_id))
        response = JSONResponse(answer.model_dump(mode="json"))
        _set_session(response, request, cookie)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout_form(request: Request) -> Response:
        await _log_out(request, (await read_form(request)).get(CSRF_FIELD))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.post("/api/v1/logout", tags=["auth"], status_code=204,
                 responses={403: {"description": "Missing or wrong CSRF token"}})
    async def logout_json(request: Request) -> Response:
        """End this session (send the CSRF token as header X-CSRF-Token)."""
        await _log_out(request, request.headers.get(CSRF_HEADER))
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    del ctx  # the runtime installed on the app holds it
    return router


def _log_in(request: Request, username: str, password: str
            ) -> tuple[dict[str, Any], str, str]:
    """(user, session cookie, session id) for right credentials; raises 401 or 429."""
    runtime = _runtime(request)
    keys = (f"user:{username}", f"ip:{client_ip(request)}")
    wait = runtime.limiter.retry_after(*keys)
    if wait:
        audit(request, username or "(anonymous)", "login", via="session", ok=False,
              detail="too many failed logins")
        raise ApiError(429, "too_many_requests",
                       f"too many failed logins; try again in {wait} s",
                       {"Retry-After": str(wait)})
    user = runtime.accounts.user(username) if username else None
    if user is None:
        _burn_password_time(password)
    if user is None or not verify_password(password, user["password_hash"]) \
            or user["disabled"]:
        runtime.limiter.failed(*keys)
        audit(request, username or "(anonymous)", "login", via="session", ok=False)
        raise unauthorized("wrong user name or password")
    runtime.limiter.succeeded(keys[0])
    audit(request, username, "login", via="session")
    cookie, session_id = runtime.session_cookie(username)
    return user, cookie, session_id


def _set_session(response: Response, request: Request, cookie: str) -> None:
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, path="/",
                        httponly=True, samesite="strict",
                        secure=_runtime(request).ctx.secure_cookies)


async def _log_out(request: Request, sent_token: str | None) -> None:
    principal = await run_in_threadpool(current_principal, request)
    if principal is None or principal.via != "session":
        return
    check_csrf(request, sent_token)
    runtime = _runtime(request)
    session = runtime.read_session(request.cookies.get(SESSION_COOKIE, ""))
    if session is not None:
        runtime.end_session(session[1], session[2])
    await run_in_threadpool(audit, request, principal.name, "logout", via="session")


def _refuse_cross_site(request: Request) -> None:
    """Refuse a login posted from another site (login CSRF): its Origin is not ours."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if origin.partition("://")[2].rstrip("/") != host:
        raise ApiError(403, "forbidden", f"cross-site login from {origin} refused")
