"""The web UI: server-rendered pages over the same store and agent as the API.

Every page is a Jinja2 template (autoescaped) filled from `ServerContext`:
the overview of all apps, one app (its resources in apply order, the
dependency graph, the pending diff, the history), one run, the events and
the updater's log, and the login form. Pages read; forms act. Each action
form posts to ``/apps/{app}/<verb>`` with the session's CSRF token; the
handler checks the token and the principal's role, asks the agent, records
the same audit event as the API (`gitward.server.auth.audit`), and redirects
back with a signed flash cookie that says what happened.

Live updates need no framework: ``static/gitward.js`` re-fetches the
``/fragments/...`` endpoints below every few seconds and swaps in the HTML.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from gitward.core.errors import GitwardError
from gitward.core.model import Action, Change, DiffItem, Key, Outcome, Run
from gitward.server.auth import (
    ApiError,
    Principal,
    audit,
    check_csrf,
    csrf_token,
    current_principal,
    read_form,
    safe_next,
)
from gitward.server.graph import dependency_svg

if TYPE_CHECKING:
    from gitward.agent.state import AppStatus
    from gitward.server.context import ServerContext

__all__ = ["create_ui_router"]

log = logging.getLogger("gitward.server.ui")

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "gitward_flash"
REDACTED = "<redacted:"
SYNC_STATES = ("synced", "out_of_sync", "syncing", "held", "error", "unknown")
HEALTH_STATES = ("healthy", "progressing", "unknown", "missing", "degraded")


# -- values as a person reads them ---------------------------------------------------------

def short(revision: str | None) -> str:
    return (revision or "")[:7]


def when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def iso(epoch: float | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def ago(epoch: float | None, now: float | None = None) -> str:
    if not epoch:
        return "never"
    seconds = max(0, int((now or time.time()) - epoch))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def is_redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REDACTED)


def show_value(value: Any) -> str:
    """One value as text: strings as JSON, bytes by size, secrets as their marker."""
    if value is None:
        return "—"
    if is_redacted(value):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return json.dumps(value, default=str, ensure_ascii=False)


# -- diffs ----------------------------------------------------------------------------------

@dataclass
class FieldView:
    """One differing field: a unified diff of two texts, or an old → new row."""

    op: str
    path: str
    old: str = ""
    new: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)   # (css class, text)
    secret: bool = False


@dataclass
class ChangeView:
    key: str
    action: str
    kind: str
    name: str
    target: str
    origin: str = ""
    reason: str = ""
    fields: list[FieldView] = field(default_factory=list)


def field_view(item: DiffItem) -> FieldView:
    """Text fields with newlines become a unified diff (live → desired); the rest
    an old/new pair. A redacted value is never diffed: only its marker shows."""
    secret = is_redacted(item.old) or is_redacted(item.new)
    if (not secret and isinstance(item.old, str | None) and isinstance(item.new, str | None)
            and ("\n" in (item.old or "") or "\n" in (item.new or ""))):
        old, new = (item.old or "").splitlines(), (item.new or "").splitlines()
        lines = []
        for line in list(difflib.unified_diff(old, new, "live", "desired", lineterm="", n=3)):
            kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
            if line.startswith(("+++", "---")):
                kind = "file"
            lines.append((kind, line))
        return FieldView(item.op, item.path, lines=lines)
    return FieldView(item.op, item.path, show_value(item.old), show_value(item.new),
                     secret=secret)


def change_view(change: Change) -> ChangeView:
    origin = change.resource.origin
    return ChangeView(str(change.key), change.action.value, change.key.kind, change.key.name,
                      change.key.target, str(origin) if origin else "", change.reason or "",
                      [field_view(f) for f in change.fields])


def revert_views(history: list[Run], to: str,
                 load: Callable[[int], Run | None]) -> list[ChangeView] | None:
    """What rolling back to `to` undoes, from the runs recorded since the last
    successful sync at `to` (history is newest first, `load` reads a run with
    its results); None when gitward never synced `to`. Per key and field: from
    its value now back to its value then."""
    at = next((i for i, r in enumerate(history) if r.revision.startswith(to)
               and r.outcome is Outcome.succeeded and not r.dry_run), None)
    if at is None:
        return None
    first_action: dict[Key, Action] = {}
    last_action: dict[Key, Action] = {}
    fields: dict[Key, dict[str, list[Any]]] = {}   # path -> [then, now, first op, last op]
    for summary in reversed(history[:at]):
        run = load(summary.id) if not summary.dry_run else None
        if run is None:
            continue
        for result in run.results:
            if not result.ok or result.skipped or result.action is Action.noop:
                continue
            first_action.setdefault(result.key, result.action)
            last_action[result.key] = result.action
            known = fields.setdefault(result.key, {})
            for item in result.fields:
                if item.path in known:
                    known[item.path][1], known[item.path][3] = item.new, item.op
                else:
                    known[item.path] = [item.old, item.new, item.op, item.op]
    views = []
    for key in sorted(first_action):
        if first_action[key] is Action.create:
            action = "delete"
        elif last_action[key] is Action.delete:
            action = "create"
        else:
            action = "update"
        items = []
        for path, (then, now, first_op, last_op) in fields.get(key, {}).items():
            if then == now and first_op == "change":
                continue
            op = "remove" if first_op == "add" else "add" if last_op == "remove" else "change"
            items.append(field_view(DiffItem(op, path, now, then)))
        if action == "delete" or action == "create" or items:
            views.append(ChangeView(str(key), action, key.kind, key.name, key.target,
                                    fields=items))
    return views


# -- signed flash messages ---------------------------------------------------------------

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


# -- the router ------------------------------------------------------------------------------

class _Pages:
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


def create_ui_router(ctx: ServerContext) -> APIRouter:
    """The pages, their live fragments and the action forms."""
    pages = _Pages(ctx)
    router = APIRouter(include_in_schema=False)
    _add_pages(router, pages)
    _add_app_pages(router, pages)
    _add_actions(router, pages)
    return router


def _add_pages(router: APIRouter, pages: _Pages) -> None:
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
        except Exception as error:
            found, failure = [], f"the updater's log cannot be read: {error}"
        return pages.render(request, "updates.html", principal, updates=found[::-1],
                            failure=failure, now=time.time())


def _add_app_pages(router: APIRouter, pages: _Pages) -> None:
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


Act = Callable[[Principal, dict[str, str]], str]


def _add_actions(router: APIRouter, pages: _Pages) -> None:
    agent = pages.ctx.agent

    def action(verb: str, act: Act) -> None:
        async def handle(request: Request, app: str) -> Response:
            form = await read_form(request)
            principal = await run_in_threadpool(current_principal, request)
            if principal is None:
                return to_login(request)
            try:
                check_csrf(request, form.get("csrf_token", ""))
            except ApiError:
                return pages.problem(request, principal, 403, "Form expired",
                                     "The form's security token did not match; reload the "
                                     "page and try again.")
            if pages.status(app) is None:
                return pages.problem(request, principal, 404, "No such app",
                                     f"There is no app named {app!r}.")
            target = f"{app} to {form.get('to', '')}" if verb == "rollback" else app
            if not principal.can(verb, app):
                await run_in_threadpool(audit, request, principal.name, verb, app=app,
                                        target=target, via="ui", ok=False)
                return pages.problem(request, principal, 403, "Not allowed",
                                     f"Your role ({principal.role}) may not {verb} {app!r}.")
            try:
                message = await run_in_threadpool(act, principal, form | {"app": app})
                level = "ok"
            except GitwardError as error:
                message, level = f"{verb} of {app} failed: {error}", "error"
            except Exception as error:
                log.exception("%s of %s from the web UI failed", verb, app)
                message, level = f"{verb} of {app} failed: {type(error).__name__}", "error"
            # The same audit record as the API's (who, what, from where, allowed or not).
            await run_in_threadpool(audit, request, principal.name, verb, app=app,
                                    target=target, via="ui", ok=level == "ok",
                                    detail=None if level == "ok" else message)
            return pages.back(f"/apps/{quote(app)}", level, message)

        handle.__name__ = f"{verb}_action"
        router.add_api_route(f"/apps/{{app}}/{verb}", handle, methods=["POST"])

    def sync(who: Principal, form: dict[str, str]) -> str:
        agent.request_sync(form["app"], who=who.name)
        return f"Sync of {form['app']} requested; the run shows in the history below."

    def refresh(who: Principal, form: dict[str, str]) -> str:
        agent.request_fetch(f"refresh of {form['app']} by {who.name} (web UI)")
        return "Refresh requested: the agent fetches the repository and re-plans."

    def rollback(who: Principal, form: dict[str, str]) -> str:
        to = form.get("to", "").strip()
        if not to:
            raise GitwardError("choose a revision to roll back to")
        report = agent.rollback(form["app"], who=who.name, to=to,
                                reason=form.get("reason", "").strip() or None)
        if report.pinned:
            return (f"{form['app']} pinned to {short(report.to_revision)} (the repository "
                    "could not be pushed to).")
        done = f"Rolled back {form['app']} to {short(report.to_revision)}"
        if report.commit:
            done += f" with commit {short(report.commit)} on {report.branch or 'the branch'}"
        if report.sync is not None and report.sync.outcome is not None:
            done += f"; sync {report.sync.outcome}"
        return done + "."

    def suspend(who: Principal, form: dict[str, str]) -> str:
        agent.suspend(form["app"], who=who.name)
        return f"Automatic syncs of {form['app']} are suspended."

    def resume(who: Principal, form: dict[str, str]) -> str:
        agent.resume(form["app"], who=who.name)
        return f"Automatic syncs of {form['app']} resumed."

    def unpin(who: Principal, form: dict[str, str]) -> str:
        agent.unpin(form["app"], who=who.name)
        return f"{form['app']} unpinned: it follows the branch again."

    for verb, act in (("sync", sync), ("refresh", refresh), ("rollback", rollback),
                      ("suspend", suspend), ("resume", resume), ("unpin", unpin)):
        action(verb, act)
