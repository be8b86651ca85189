"""The web UI: server-rendered pages over the same store and agent as the API.

Every page is a Jinja2 template (autoescaped) filled from `ServerContext`:
the overview of all apps, one app (its resources in apply order, the
dependency graph, the pending diff, the history), one run, the events and
the updater's log, and the login form. Pages read; forms act. Each action
form posts to ``/apps/{app}/<verb>`` with the session's CSRF token; the
handler checks the token and the principal's role, asks the agent, records
the same audit event as the API (`gitward.server.auth.audit`), and redirects
back with a signed flash cookie that says what happened.

This module holds the routes of the pages; how values and diffs read is
`gitward.server.ui_views`, how a page is answered `gitward.server.ui_pages`,
and the action forms `gitward.server.ui_actions` (their names stay
importable from here).

Live updates need no framework: ``static/gitward.js`` re-fetches the
``/fragments/...`` endpoints below every few seconds and swaps in the HTML.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from gitward.core.errors import GitwardError
from gitward.core.model import Outcome, Run
from gitward.server.auth import Principal, current_principal, safe_next
from gitward.server.graph import dependency_svg
from gitward.server.ui_actions import Act as Act
from gitward.server.ui_actions import add_action_forms
from gitward.server.ui_pages import FLASH_COOKIE as FLASH_COOKIE
from gitward.server.ui_pages import HEALTH_STATES, SYNC_STATES, Pages, to_login
from gitward.server.ui_pages import TEMPLATES as TEMPLATES
from gitward.server.ui_pages import flash_cookie as flash_cookie
from gitward.server.ui_pages import read_flash as read_flash
from gitward.server.ui_views import REDACTED as REDACTED
from gitward.server.ui_views import ChangeView, change_view, field_view, revert_views
from gitward.server.ui_views import FieldView as FieldView
from gitward.server.ui_views import ago as ago
from gitward.server.ui_views import is_redacted as is_redacted
from gitward.server.ui_views import iso as iso
from gitward.server.ui_views import short as short
from gitward.server.ui_views import show_value as show_value
from gitward.server.ui_views import when as when

if TYPE_CHECKING:
    from gitward.agent.state import AppStatus
    from gitward.server.context import ServerContext

__all__ = ["create_ui_router"]

log = logging.getLogger("gitward.server.ui")


def create_ui_router(ctx: ServerContext) -> APIRouter:
    """The pages, their live fragments and the action forms."""
    pages = Pages(ctx)
    router = APIRouter(include_in_schema=False)
    _add_pages(router, pages)
    _add_app_pages(router, pages)
    add_action_forms(router, pages)
    return router


def _add_pages(router: APIRouter, pages: Pages) -> None:
    ctx = pages.ctx

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/", error: str = "") -> Response:
        principal = current_principal(request)
        return pages.render(request, "login.html", principal, next=safe_next(next),
                            error=bool(error))

    def overview_values(principal: Principal, q: str, sync: str, health: str
                        ) -> dict[str, Any]:
        statuses = pages.statuses(principal)
        counts = {"sync": {k: 0 for k in SYNC_STATES}, "health": {k: 0 for k in HEALTH_STATES}}
        for s in statuses:
            counts["sync"][s.sync] = counts["sync"].get(s.sync, 0) + 1
            counts["health"][s.health] = counts["health"].get(s.health, 0) + 1
        needle = q.strip().lower()
        shown = [pages.row(s) for s in statuses
                 if (not sync or s.sync == sync) and (not health or s.health == health)
                 and (not needle or needle in f"{s.app} {s.target} {s.subject}".lower())]
        return {"rows": shown, "total": len(statuses), "counts": counts, "now": time.time(),
                "q": q, "sync": sync, "health": health}

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request, q: str = "", sync: str = "", health: str = "") -> Response:
        principal = current_principal(request)
        if principal is None:
            return to_login(request)
        try:
            sources = ctx.agent.sources()
        except Exception:
            sources = []
        return pages.render(request, "overview.html", principal, sources=sources,
                            ready=ctx.agent.ready(),
                            **overview_values(principal, q, sync, health))

    @router.get("/fragments/apps", response_class=HTMLResponse)
    def overview_fragment(request: Request, q: str = "", sync: str = "",
                          health: str = "") -> Response:
        principal = current_principal(request)
        if principal is None:
            return Response(status_code=401)
        return pages.fragment("_overview_live.html",
                              **overview_values(principal, q, sync, health))

    @router.get("/events", response_class=HTMLResponse)
    def events_page(request: Request, app: str = "", kind: str = "") -> Response:
        principal = current_principal(request)
        if principal is None:
            return to_login(request)
        found = [e for e in ctx.store.events(app or None, 0, 1_000_000)
                 if (not kind or e.get("kind") == kind)
                 and (e.get("app") is None or principal.can("read", str(e.get("app"))))]
        kinds = sorted({str(e.get("kind")) for e in found})
        return pages.render(request, "events.html", principal, events=found[::-1][:300],
                            app=app, kind=kind, kinds=kinds, now=time.time())

    @router.get("/updates", response_class=HTMLResponse)
    def updates_page(request: Request) -> Response:
        principal = current_principal(request)
        if principal is None:
            return to_login(request)
        try:
            found, failure = ctx.agent.updates(), ""
            policies = ctx.agent.update_policies()
        except Exception as error:
            found, policies = [], []
            failure = f"the updater's policies or log cannot be read: {error}"
        return pages.render(request, "updates.html", principal, updates=found[::-1],
                            policies=policies, failure=failure, now=time.time())


def _add_app_pages(router: APIRouter, pages: Pages) -> None:
    ctx = pages.ctx

    def find(request: Request, app: str) -> tuple[Principal, AppStatus] | Response:
        principal = current_principal(request)
        if principal is None:
            return to_login(request)
        status = pages.status(app)
        if status is None:
            return pages.problem(request, principal, 404, "No such app",
                                 f"There is no app named {app!r}.")
        if not principal.can("read", app):
            return pages.problem(request, principal, 403, "Not allowed",
                                 f"You may not see app {app!r}.")
        return principal, status

    def live_values(app: str, status: AppStatus) -> dict[str, Any]:
        return {"row": pages.row(status), "now": time.time(),
                "history": [pages.run_row(r) for r in ctx.store.history(app, 30)]}

    @router.get("/apps/{app}", response_class=HTMLResponse)
    def app_page(request: Request, app: str) -> Response:
        found = find(request, app)
        if isinstance(found, Response):
            return found
        principal, status = found
        report, plan_error = None, ""
        try:
            report = ctx.agent.plan(app)
        except Exception as error:   # not ready, render error: show it, keep the rest
            plan_error = str(error) or type(error).__name__
        resources = []
        if report is not None:
            for change in report.plan.changes:
                res = change.resource
                resources.append({
                    "key": str(change.key), "kind": change.key.kind, "name": change.key.name,
                    "wave": res.wave, "depends_on": [str(d) for d in res.depends_on],
                    "action": change.action.value,
                    "health": str(report.healths.get(change.key, "unknown")
                                  if change.desired is not None else "-")})
        deps = pages.depends_on()
        health = {s.app: s.health for s in ctx.agent.apps()}
        graph = Markup(dependency_svg(  # graph.py escapes every value it writes
            _neighbourhood(deps, app), health, current=app,
            link=lambda name: f"/apps/{quote(name)}"))
        return pages.render(
            request, "app.html", principal, app=app, report=report, plan_error=plan_error,
            resources=resources, pending=[change_view(c) for c in report.plan.pending]
            if report else [], graph=graph, depends_on=deps.get(app, []),
            can={a: principal.can(a, app) for a in
                 ("sync", "refresh", "rollback", "suspend", "resume", "unpin")},
            **live_values(app, status))

    @router.get("/fragments/apps/{app}", response_class=HTMLResponse)
    def app_fragment(request: Request, app: str, part: str = "status") -> Response:
        principal = current_principal(request)
        if principal is None:
            return Response(status_code=401)
        status = pages.status(app)
        if status is None or not principal.can("read", app) or part not in (
                "status", "history"):
            return Response(status_code=404)
        return pages.fragment(f"_app_{part}.html", app=app, **live_values(app, status))

    @router.get("/apps/{app}/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, app: str, run_id: int) -> Response:
        found = find(request, app)
        if isinstance(found, Response):
            return found
        principal, _ = found
        run = ctx.store.run(run_id)
        if run is None or run.app != app:
            return pages.problem(request, principal, 404, "No such run",
                                 f"App {app!r} has no run {run_id}.")
        results = [{"r": r, "fields": [field_view(f) for f in r.fields]} for r in run.results]
        return pages.render(request, "run.html", principal, app=app, run=run,
                            commit=pages.commit(run.revision), results=results,
                            row=pages.run_row(run))

    @router.get("/apps/{app}/rollback", response_class=HTMLResponse)
    def rollback_page(request: Request, app: str, to: str = "", other: str = "") -> Response:
        found = find(request, app)
        if isinstance(found, Response):
            return found
        principal, status = found
        if not principal.can("rollback", app):
            return pages.problem(request, principal, 403, "Not allowed",
                                 f"Your role may not roll back {app!r}.")
        history = ctx.store.history(app, 200)
        choices, seen = [], {status.revision}
        for run in history:
            if run.outcome is Outcome.succeeded and not run.dry_run \
                    and run.revision not in seen:
                seen.add(run.revision)
                choices.append(pages.run_row(run))
        to = other.strip() or to.strip()
        views = _preview(ctx, app, to, history) if to else None
        return pages.render(request, "rollback.html", principal, app=app, status=status,
                            choices=choices, to=to, commit=pages.commit(to) if to else {},
                            changes=views, now=time.time())


def _preview(ctx: ServerContext, app: str, to: str, history: list[Run]
             ) -> list[ChangeView] | None:
    """What a rollback to `to` would change on the target: a dry run of the app as
    it was at `to` against live state; from the recorded runs when the agent
    cannot render that revision."""
    try:
        report = ctx.agent.plan_at(app, to)
    except GitwardError:
        return revert_views(history, to, ctx.store.run)
    return [change_view(change) for change in report.plan.pending]


def _neighbourhood(deps: Mapping[str, Iterable[str]], app: str) -> dict[str, list[str]]:
    """The graph to draw on `app`'s page: all apps when there are few, else
    `app`, what it depends on and what depends on it, transitively."""
    if len(deps) <= 40:
        return {name: list(wanted) for name, wanted in deps.items()}
    found, stack = {app}, [app]
    while stack:
        for dep in deps.get(stack.pop(), ()):
            if dep not in found:
                found.add(dep)
                stack.append(dep)
    stack = [app]
    while stack:
        below = stack.pop()
        for name, wanted in deps.items():
            if below in wanted and name not in found:
                found.add(name)
                stack.append(name)
    return {name: [d for d in deps[name] if d in found] for name in deps if name in found}

