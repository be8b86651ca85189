"""How a web UI page is answered: templates, commit lookups, flash messages.

`Pages` holds what every handler of `gitward.server.ui` shares: the Jinja2
environment (autoescaped, with the helpers of `gitward.server.ui_views`), a
cache of commit subjects and authors, reads that tolerate an agent that is
not ready yet, and the ways to answer — a page (`render`), a live fragment,
an error page, or a redirect back with a flash message. A flash message is a
short-lived cookie signed with the server's secret key (`flash_cookie`,
`read_flash`), so a forged one is ignored. `to_login` sends a visitor without
a session to the login form and back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gitward.core.model import Run
from gitward.server.auth import Principal, csrf_token
from gitward.server.ui_views import ago, iso, short, when

if TYPE_CHECKING:
    from gitward.agent.state import AppStatus
    from gitward.server.context import ServerContext

__all__ = ["FLASH_COOKIE", "HEALTH_STATES", "SYNC_STATES", "TEMPLATES", "Pages", "flash_cookie",
           "read_flash", "to_login"]

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "gitward_flash"
SYNC_STATES = ("synced", "out_of_sync", "syncing", "held", "error", "unknown")
HEALTH_STATES = ("healthy", "progressing", "unknown", "missing", "degraded")


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


def flash_cookie(secret: bytes, level: str, message: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps([level, message[:600]]).encode()).decode()
    return f"{payload}.{_sign(secret, payload)}"


def read_flash(secret: bytes, cookie: str | None) -> dict[str, str] | None:
    if not cookie or "." not in cookie:
        return None
    payload, mac = cookie.rsplit(".", 1)
    if not hmac.compare_digest(mac, _sign(secret, payload)):
        return None
    try:
        level, message = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    return {"level": str(level), "message": str(message)}


class Pages:
    """The page handlers' shared state: the context, templates, commit cache."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(short=short, when=when, iso=iso, ago=ago,
                                sync_states=SYNC_STATES, health_states=HEALTH_STATES)
        self.env.filters["qs"] = lambda values: urlencode(
            {k: v for k, v in values.items() if v})
        self._commits: dict[str, dict[str, Any]] = {}

    # -- reads, each tolerant of an agent that is not ready yet --------------------------

    def commit(self, revision: str | None) -> dict[str, Any]:
        if not revision:
            return {}
        if revision not in self._commits:
            try:
                info = dict(self.ctx.agent.commit_info(revision))
            except Exception:   # an unknown or not yet fetched revision shows bare
                return {}
            if len(self._commits) > 2000:
                self._commits.clear()
            self._commits[revision] = info
        return self._commits[revision]

    def statuses(self, principal: Principal) -> list[AppStatus]:
        return [s for s in self.ctx.agent.apps() if principal.can("read", s.app)]

    def status(self, app: str) -> AppStatus | None:
        return next((s for s in self.ctx.agent.apps() if s.app == app), None)

    def depends_on(self) -> dict[str, list[str]]:
        system = self.ctx.agent.system()
        if system is None:
            return {s.app: [] for s in self.ctx.agent.apps()}
        return {name: list(spec.depends_on) for name, spec in system.apps.items()}

    def row(self, status: AppStatus) -> dict[str, Any]:
        info = self.commit(status.revision)
        return {"s": status, "subject": status.subject or info.get("subject", ""),
                "author": info.get("author", ""), "behind": bool(
                    status.head and status.revision and status.head != status.revision)}

    def run_row(self, run: Run) -> dict[str, Any]:
        info = self.commit(run.revision)
        counts = ", ".join(f"{v} {k}" for k, v in run.counts.items() if v and k != "noop")
        return {"run": run, "subject": run.subject or info.get("subject", ""),
                "author": info.get("author", ""), "counts": counts or "no changes"}

    # -- responses ---------------------------------------------------------------------------

    def render(self, request: Request, template: str, principal: Principal | None,
               status_code: int = 200, **values: Any) -> HTMLResponse:
        flash = read_flash(self.ctx.secret_key, request.cookies.get(FLASH_COOKIE))
        html = self.env.get_template(template).render(
            request=request, me=principal, flash=flash, path=request.url.path,
            csrf=csrf_token(request) if principal is not None else "", **values)
        response = HTMLResponse(html, status_code)
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def fragment(self, template: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**values),
                            headers={"Cache-Control": "no-store"})

    def problem(self, request: Request, principal: Principal | None, status_code: int,
                title: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", principal, status_code, title=title,
                           message=message)

    def back(self, target: str, level: str, message: str) -> RedirectResponse:
        response = RedirectResponse(target, 303)
        response.set_cookie(FLASH_COOKIE, flash_cookie(self.ctx.secret_key, level, message),
                            max_age=120, path="/", httponly=True, samesite="lax",
                            secure=self.ctx.secure_cookies)
        return response


def to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", 303)

