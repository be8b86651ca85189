"""What authentication keeps per server: signed session cookies, ended sessions,
failed logins.

A session is a stateless signed cookie (``gitward_session``: user, expiry and
a random session id, HMAC-SHA256 with the server's secret key); logging out
remembers the session id as ended until the cookie would have expired. Failed
logins are counted per key (``user:ada``, ``ip:10.0.0.7``) in a sliding
window (`LoginLimiter`). `install_auth` puts one `AuthRuntime` on the FastAPI
app; `runtime_of` finds it again for a request. The principal behind a
cookie is read in `gitward.server.auth`, logins in `gitward.server.login`.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from fastapi import Request

from gitward.server.credentials import unpadded_b64, unpadded_b64_decode

if TYPE_CHECKING:
    from gitward.core.seams import AuthStore
    from gitward.server.context import ServerContext

__all__ = ["SESSION_COOKIE", "SESSION_SECONDS", "AuthRuntime", "LoginLimiter", "install_auth",
           "runtime_of"]

SESSION_COOKIE = "gitward_session"
SESSION_SECONDS = 12 * 3600


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
        body = f"{unpadded_b64(user.encode())}.{expires}.{session_id}"
        return f"{body}.{self.sign('session', body)}", session_id

    def read_session(self, value: str) -> tuple[str, str, int] | None:
        """(user, session id, expiry) of a valid, unexpired, not ended cookie."""
        body, _, signature = value.rpartition(".")
        if not body or not hmac.compare_digest(self.sign("session", body), signature):
            return None
        try:
            user_text, expires_text, session_id = body.split(".")
            user, expires = unpadded_b64_decode(user_text).decode(), int(expires_text)
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


def runtime_of(request: Request) -> AuthRuntime:
    """The `AuthRuntime` that `install_auth` put on the request's app."""
    runtime = getattr(request.app.state, "gitward_auth", None)
    if runtime is None:
        raise RuntimeError("authentication is not installed; build the app with "
                           "gitward.server.app.create_server")
    return cast(AuthRuntime, runtime)
