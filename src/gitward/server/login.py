"""Logging in and out: ``POST /login`` and ``/logout`` (forms), ``/api/v1/login`` and
``/api/v1/logout`` (JSON).

A login checks the password (`gitward.server.credentials`), refuses a form
posted from another site, and answers 429 with ``Retry-After`` after five
failed logins in five minutes for the same user name or client address
(`gitward.server.sessions.LoginLimiter`). Success sets the signed session
cookie; the JSON login also returns the session's CSRF token. Logging out
needs that token and ends the session at once. Each attempt, good or bad, is
an audit event. The login page itself is the UI's (`gitward.server.ui`);
`gitward.server.auth.create_auth_router` builds these routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gitward.server.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    ApiError,
    LoginAnswer,
    LoginRequest,
    Role,
    audit,
    check_csrf,
    client_ip,
    current_principal,
    read_form,
    safe_next,
    unauthorized,
)
from gitward.server.credentials import burn_password_time, verify_password
from gitward.server.sessions import SESSION_COOKIE, SESSION_SECONDS, runtime_of

if TYPE_CHECKING:
    from gitward.server.context import ServerContext

__all__ = ["create_login_router"]


def create_login_router(ctx: ServerContext) -> APIRouter:
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
                             csrf_token=runtime_of(request).sign("csrf", session_id))
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
    runtime = runtime_of(request)
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
        burn_password_time(password)
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
                        secure=runtime_of(request).ctx.secure_cookies)


async def _log_out(request: Request, sent_token: str | None) -> None:
    principal = await run_in_threadpool(current_principal, request)
    if principal is None or principal.via != "session":
        return
    check_csrf(request, sent_token)
    runtime = runtime_of(request)
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
