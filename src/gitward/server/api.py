"""The REST API under ``/api/v1``: what the agent knows, and what it may be asked to do.

Reads — apps (filtered), one app with its resources, its plan against live,
runs with per-resource results, events (also as a server-sent stream,
`gitward.server.api_events`), sources and update runs — need the ``read``
action. Actions (`gitward.server.api_actions`) go through the agent's per-app
queue, each behind its role (`gitward.server.auth.ACTIONS`) and each recorded
as an audit event: sync and refresh answer 202 (queued), rollback answers with
its commit.

An app the caller cannot see is 403, an unknown one 404; a `GitwardError`
from the agent is 409 (or 422 when the input was at fault). Users and API
tokens (`gitward.server.api_accounts`) are managed under ``/users`` and
``/tokens`` by an admin of every app. The models (`gitward.server.api_models`,
re-exported here) make the OpenAPI document (``/api/v1/openapi.json``) say
exactly what comes back; secrets never do — providers redact them before a
plan exists.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query

from gitward.core.errors import GitwardError
from gitward.server.api_actions import add_action_routes
from gitward.server.api_actions import error_status as error_status
from gitward.server.api_events import add_event_routes
from gitward.server.api_models import (
    ACTION_ERRORS,
    APP_ERRORS,
    ERRORS,
    AppDetail,
    AppList,
    AppName,
    AppSpecSummary,
    AppSummary,
    ChangeView,
    FieldChange,
    HealthState,
    PlanView,
    Reader,
    ResourceView,
    ResultView,
    RunDetail,
    RunList,
    RunSummary,
    SourceList,
    SourceView,
    SyncState,
    UpdateList,
)

# The models' names stay importable from here, where they used to live.
from gitward.server.api_models import APP_NAME as APP_NAME
from gitward.server.api_models import MAX_ID as MAX_ID
from gitward.server.api_models import RESOURCE_REF as RESOURCE_REF
from gitward.server.api_models import REVISION as REVISION
from gitward.server.api_models import Accepted as Accepted
from gitward.server.api_models import ErrorBody as ErrorBody
from gitward.server.api_models import ErrorDetail as ErrorDetail
from gitward.server.api_models import EventList as EventList
from gitward.server.api_models import EventView as EventView
from gitward.server.api_models import PinRequest as PinRequest
from gitward.server.api_models import PinState as PinState
from gitward.server.api_models import RollbackRequest as RollbackRequest
from gitward.server.api_models import RollbackView as RollbackView
from gitward.server.api_models import SuspendState as SuspendState
from gitward.server.api_models import SyncRequest as SyncRequest
from gitward.server.auth import ApiError

if TYPE_CHECKING:
    from gitward.core.model import Change, Run
    from gitward.engine.sync import AppReport
    from gitward.server.context import ServerContext

__all__ = ["create_api_router", "error_status"]

logger = logging.getLogger("gitward.server.api")

_ERRORS = ERRORS  # under its old name, for `gitward.server.api_accounts`


# -- the router ----------------------------------------------------------------------

def create_api_router(ctx: ServerContext) -> APIRouter:
    """The routes of ``/api/v1`` (mounted there by `gitward.server.app.create_server`)."""
    router = APIRouter(tags=["api"])

    def known_apps() -> set[str]:
        names = {status.app for status in ctx.agent.apps()}
        system = ctx.agent.system()
        if system is not None:
            names |= set(system.apps)
        return names

    def existing(app: str) -> None:
        if app not in known_apps():
            raise ApiError(404, "not_found", f"no app named {app!r}; GET /api/v1/apps "
                                             "lists them")

    @router.get("/apps", response_model=AppList, responses=ERRORS)
    def list_apps(principal: Reader,
                  sync: SyncState | None = None, health: HealthState | None = None,
                  q: Annotated[str | None, Query(max_length=200,
                                                 description="Part of the app's name.")] = None
                  ) -> AppList:
        """Every app the caller may see, optionally filtered."""
        found = [AppSummary(**status.to_json()) for status in ctx.agent.apps()
                 if principal.sees(status.app)
                 and (sync is None or status.sync == sync)
                 and (health is None or status.health == health)
                 and (not q or q.lower() in status.app.lower())]
        return AppList(apps=found)

    @router.get("/apps/{app}", response_model=AppDetail, responses=APP_ERRORS)
    def show_app(app: AppName, principal: Reader) -> AppDetail:
        """One app: status, spec, pin, suspension and its resources as planned now."""
        statuses = {status.app: status for status in ctx.agent.apps()}
        existing(app)
        status = statuses.get(app)
        summary = AppSummary(**status.to_json()) if status else AppSummary(
            app=app, sync="unknown", health="unknown")
        state = ctx.store.app_state(app)
        detail = AppDetail(status=summary, pinned=state.pinned, pin_reason=state.pin_reason,
                           suspended=state.suspended or summary.suspended)
        system = ctx.agent.system()
        spec = system.apps.get(app) if system is not None else None
        if spec is not None:
            detail.spec = AppSpecSummary(
                path=spec.path, target=spec.target, renderer=spec.renderer,
                auto=spec.sync.auto, prune=spec.sync.prune, self_heal=spec.sync.self_heal,
                interval=float(spec.sync.interval), suspend=spec.sync.suspend)
            detail.depends_on = list(spec.depends_on)
        try:
            report = ctx.agent.plan(app)
        except GitwardError as error:
            detail.plan_error = str(error)
            return detail
        detail.revision = report.revision
        detail.resources = [_resource_view(change, report) for change in report.plan.changes]
        detail.commit = _commit_info(ctx, report.revision)
        return detail

    @router.get("/apps/{app}/plan", response_model=PlanView, responses=ACTION_ERRORS)
    def show_plan(app: AppName, principal: Reader) -> PlanView:
        """What a sync would change now: the diff of Git against live, per field."""
        existing(app)
        report = ctx.agent.plan(app)
        return PlanView(app=report.app, revision=report.revision, subject=report.subject,
                        in_sync=report.plan.in_sync, health=report.health.value,
                        pinned=report.pinned, held=report.held,
                        changes=[_change_view(change) for change in report.plan.pending])

    @router.get("/apps/{app}/runs", response_model=RunList, responses=APP_ERRORS)
    def list_runs(app: AppName, principal: Reader,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> RunList:
        """The app's runs, newest first (results: GET /runs/{id})."""
        existing(app)
        return RunList(runs=[_run_summary(run) for run in ctx.store.history(app, limit)])

    @router.get("/runs/{run_id}", response_model=RunDetail,
                responses={**ERRORS, 404: {"model": ErrorBody, "description": "No such run."}})
    def show_run(run_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 principal: Reader) -> RunDetail:
        """One run with the result of each resource."""
        run = ctx.store.run(run_id)
        if run is None:
            raise ApiError(404, "not_found", f"no run {run_id}")
        if not principal.sees(run.app):
            raise ApiError(403, "forbidden", f"{principal.name} may not read app {run.app}")
        return RunDetail(**_run_summary(run).model_dump(), results=[
            ResultView(key=str(r.key), action=r.action.value, ok=r.ok, skipped=r.skipped,
                       error=r.error, duration=r.duration,
                       fields=[_field(f.op, f.path, f.old, f.new) for f in r.fields])
            for r in run.results])

    add_event_routes(router, ctx)

    @router.get("/sources", response_model=SourceList, responses=ERRORS)
    def list_sources(principal: Reader) -> SourceList:
        """Each repository the agent follows and its last fetch."""
        return SourceList(sources=[SourceView(**source) for source in ctx.agent.sources()])

    @router.get("/updates", response_model=UpdateList, responses=ERRORS)
    def list_updates(principal: Reader) -> UpdateList:
        """The version updater's recent runs (its events), newest last."""
        return UpdateList(policies=ctx.agent.update_policies(), updates=ctx.agent.updates())

    add_action_routes(router, ctx, existing)

    # Users and tokens live beside, built on this module's models (hence imported here).
    from gitward.server.api_accounts import create_accounts_router

    router.include_router(create_accounts_router(ctx))
    return router


# -- helpers -------------------------------------------------------------------------

def _field(op: str, path: str, old: Any, new: Any) -> FieldChange:
    return FieldChange(op=op, path=path, old=_jsonable(old), new=_jsonable(new))


def _jsonable(value: Any) -> Any:
    """Plain JSON of a diff value (tuples and such become lists, unknowns text)."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def _change_view(change: Change) -> ChangeView:
    return ChangeView(key=str(change.key), kind=change.key.kind, name=change.key.name,
                      target=change.key.target, action=change.action.value,
                      fields=[_field(f.op, f.path, f.old, f.new) for f in change.fields],
                      reason=change.reason)


def _resource_view(change: Change, report: AppReport) -> ResourceView:
    resource = change.desired if change.desired is not None else change.live
    health = report.healths.get(change.key)
    origin = change.desired.origin if change.desired is not None else None
    return ResourceView(key=str(change.key), kind=change.key.kind, name=change.key.name,
                        target=change.key.target,
                        wave=resource.wave if resource is not None else 0,
                        action=change.action.value,
                        health=health.value if health is not None else None,
                        origin=str(origin) if origin is not None else None)


def _commit_info(ctx: ServerContext, revision: str) -> dict[str, Any]:
    try:
        return dict(ctx.agent.commit_info(revision))
    except (GitwardError, KeyError, LookupError):
        return {}


def _run_summary(run: Run) -> RunSummary:
    return RunSummary(id=run.id, app=run.app, revision=run.revision, subject=run.subject,
                      trigger=run.trigger, started=run.started, finished=run.finished,
                      outcome=run.outcome.value,
                      health=run.health.value if run.health else None,
                      counts=dict(run.counts), error=run.error, dry_run=run.dry_run)
