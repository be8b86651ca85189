"""One FastAPI app for everything the agent serves.

`create_server` puts together the REST API (`gitward.server.api`, OpenAPI at
``/api/v1/openapi.json``), login and logout (`gitward.server.auth`), the web
UI (`gitward.server.ui`, when present) with its static files, and the agent's
own routes (probes, metrics, webhooks) that the caller passes in. Every error
is answered in one shape, ``{"error": {"code": ..., "message": ...}}``; a
browser asking for a page without a session is sent to the login page.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from gitward.core.errors import GitwardError
from gitward.server.api import create_api_router, error_status
from gitward.server.auth import ApiError, create_auth_router, install_auth
from gitward.server.context import ServerContext

__all__ = ["OPENAPI_URL", "create_server", "error_body"]

logger = logging.getLogger("gitward.server")

OPENAPI_URL = "/api/v1/openapi.json"
_STATIC = Path(__file__).with_name("static")
_CODE_OF_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 409: "conflict", 413: "too_large",
                   422: "invalid", 429: "too_many_requests", 500: "internal",
                   503: "not_ready"}


def create_server(ctx: ServerContext, agent_routes: APIRouter | None = None) -> FastAPI:
    """The agent's whole HTTP app; `agent_routes` from `gitward.agent.http.create_router`."""
    app = FastAPI(title="gitward", version="1", openapi_url=OPENAPI_URL, docs_url=None,
                  redoc_url=None,
                  description="The GitOps agent's REST API. Authenticate with an API token "
                              "(`Authorization: Bearer gw_...`) or a session cookie from "
                              "`POST /api/v1/login` plus its `X-CSRF-Token` header.")
    install_auth(app, ctx)
    _install_error_handlers(app)
    app.include_router(create_auth_router(ctx))
    app.include_router(create_api_router(ctx), prefix="/api/v1")
    if agent_routes is not None:
        app.include_router(agent_routes)
    _mount_ui(app, ctx)
    return app


def _mount_ui(app: FastAPI, ctx: ServerContext) -> None:
    try:
        from gitward.server import ui
    except ImportError:
        return
    create_ui_router = getattr(ui, "create_ui_router", None)
    if create_ui_router is not None:
        app.include_router(create_ui_router(ctx))
    if _STATIC.is_dir():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=_STATIC), name="static")


def error_body(status: int, message: str, code: str | None = None,
               headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The one error shape of the server."""
    error = {"code": code or _CODE_OF_STATUS.get(status, f"http_{status}"), "message": message,
             **extra}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not the API, not a script)."""
    return (request.method == "GET" and not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if error.status == 401 and _wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return error_body(error.status, error.message, error.code, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{_field_path(e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                    for e in error.errors()]
        fields = [_field_path(e.get("loc", ())) for e in error.errors()]
        return error_body(422, "; ".join(problems) or "invalid request", "invalid",
                          fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return error_body(error.status_code, str(error.detail),
                          headers=dict(error.headers) if error.headers else None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_body(500, "the server failed; see the agent's log")

    @app.exception_handler(GitwardError)
    async def gitward_error(request: Request, error: GitwardError) -> JSONResponse:
        status, code = error_status(error)
        return error_body(status, str(error), code)


def _field_path(loc: Any) -> str:
    """``("body", "revision")`` → ``body.revision``; ``("query", "limit")`` → ``query.limit``."""
    parts = [str(p) for p in loc] if isinstance(loc, list | tuple) else [str(loc)]
    return ".".join(parts) or "request"
