"""The web UI's action forms: sync, refresh, roll back, suspend, resume, unpin.

Each form posts to ``/apps/{app}/<verb>`` with the session's CSRF token. The
handler checks the token and the principal's role, asks the agent, records
the same audit event as the API (`gitward.server.auth.audit`, ``via="ui"``),
and redirects back to the app's page with a flash message that says what
happened (`gitward.server.ui_pages.Pages.back`). Mounted by
`gitward.server.ui.create_ui_router`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gitward.core.errors import GitwardError
from gitward.server.auth import ApiError, Principal, audit, check_csrf, current_principal, read_form
from gitward.server.ui_pages import Pages, to_login
from gitward.server.ui_views import short

__all__ = ["Act", "add_action_forms"]

log = logging.getLogger("gitward.server.ui")  # the UI's logger, as before the split

Act = Callable[[Principal, dict[str, str]], str]


def add_action_forms(router: APIRouter, pages: Pages) -> None:
    """Add a ``POST /apps/{app}/<verb>`` form handler to `router` for each action."""
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
