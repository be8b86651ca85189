"""The REST API under ``/api/v1``: what the agent knows, and what it may be asked to do.

Reads — apps (filtered), one app with its resources, its plan against live,
runs with per-resource results, events (also as a server-sent stream),
sources and update runs — need the ``read`` action. Actions go through the
agent's per-app queue (`gitward.server.context.AgentActions`), each behind its
role (`gitward.server.auth.ACTIONS`) and each recorded as an audit event:
sync and refresh answer 202 (queued), rollback answers with its commit.

An app the caller cannot see is 403, an unknown one 404; a `GitwardError`
from the agent is 409 (or 422 when the input was at fault). Users and API
tokens (`gitward.server.api_accounts`) are managed under ``/users`` and
``/tokens`` by an admin of every app. The models below
make the OpenAPI document (``/api/v1/openapi.json``) say exactly what comes
back; secrets never do — providers redact them before a plan exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from gitward.core.errors import GitwardError, ManifestError
from gitward.core.model import Key
from gitward.server.auth import ApiError, Principal, audit, require

if TYPE_CHECKING:
    from gitward.core.model import Change, Run
    from gitward.engine.sync import AppReport
    from gitward.server.context import ServerContext

__all__ = ["create_api_router", "error_status"]

logger = logging.getLogger("gitward.server.api")

_T = TypeVar("_T")

MAX_ID = 2 ** 31 - 1
APP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$"
REVISION = r"^[0-9a-fA-F]{4,64}$"
RESOURCE_REF = r"^[^/@\s]+/[^@\s]+(@[^@\s]+)?$"

SyncState = Literal["synced", "out_of_sync", "syncing", "held", "error", "unknown"]
HealthState = Literal["healthy", "progressing", "unknown", "missing", "degraded"]


def error_status(error: GitwardError) -> tuple[int, str]:
    """(status, code) for an error the agent raised: bad input 422, else 409."""
    if isinstance(error, ManifestError):
        return 422, "invalid"
    return 409, "conflict"


# -- models ------------------------------------------------------------------------

class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class AppSummary(BaseModel):
    app: str
    sync: str = Field(description="synced | out_of_sync | syncing | held | error | unknown")
    health: str = Field(description="healthy | progressing | unknown | missing | degraded")
    revision: str | None = Field(None, description="Last revision synced successfully.")
    head: str | None = Field(None, description="Revision the source is at now.")
    subject: str = ""
    target: str = ""
    last_sync: float | None = None
    last_outcome: str | None = None
    message: str | None = None
    pinned: str | None = None
    suspended: bool = False
    retries: int = 0
    drift: list[dict[str, Any]] = Field(default_factory=list)


class AppList(BaseModel):
    apps: list[AppSummary]


class ResourceView(BaseModel):
    key: str = Field(examples=["File/motd@local"])
    kind: str
    name: str
    target: str
    wave: int
    action: str = Field(description="What a sync would do now: noop, create, update, "
                                    "replace or delete.")
    health: str | None = None
    origin: str | None = Field(None, description="Repository file and line it comes from.")


class AppSpecSummary(BaseModel):
    path: str
    target: str
    renderer: str
    auto: bool
    prune: bool
    self_heal: bool
    interval: float
    suspend: bool


class AppDetail(BaseModel):
    status: AppSummary
    spec: AppSpecSummary | None = None
    depends_on: list[str] = Field(default_factory=list)
    pinned: str | None = None
    pin_reason: str | None = None
    suspended: bool = False
    revision: str | None = Field(None, description="Revision the resources were planned at.")
    commit: dict[str, Any] = Field(default_factory=dict,
                                   description="subject, author and time of `revision`.")
    resources: list[ResourceView] = Field(default_factory=list)
    plan_error: str | None = Field(None, description="Why the resources could not be read.")


class FieldChange(BaseModel):
    op: str = Field(description="add, remove or change")
    path: str = Field(examples=["spec.mode"])
    old: Any = None
    new: Any = None


class ChangeView(BaseModel):
    key: str
    kind: str
    name: str
    target: str
    action: str
    fields: list[FieldChange]
    reason: str | None = None


class PlanView(BaseModel):
    app: str
    revision: str
    subject: str
    in_sync: bool
    health: str
    pinned: str | None = None
    held: str | None = None
    changes: list[ChangeView]


class ResultView(BaseModel):
    key: str
    action: str
    ok: bool
    skipped: bool
    error: str | None = None
    duration: float
    fields: list[FieldChange]


class RunSummary(BaseModel):
    id: int
    app: str
    revision: str
    subject: str
    trigger: str
    started: float
    finished: float | None = None
    outcome: str
    health: str | None = None
    counts: dict[str, int]
    error: str | None = None
    dry_run: bool


class RunDetail(RunSummary):
    results: list[ResultView]


class RunList(BaseModel):
    runs: list[RunSummary]


class EventView(BaseModel):
    id: int
    at: float
    app: str | None = None
    revision: str | None = None
    kind: str
    message: str
    data: dict[str, Any] | None = None


class EventList(BaseModel):
    events: list[EventView]


class SourceView(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str
    ref: str | None = None
    revision: str | None = None
    last_fetch: float | None = None
    error: str | None = None


class SourceList(BaseModel):
    sources: list[SourceView]


class UpdateList(BaseModel):
    updates: list[dict[str, Any]]


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource: str | None = Field(None, pattern=RESOURCE_REF, max_length=500,
                                 description="Sync only this resource: Kind/name[@target].")
    revision: str | None = Field(None, pattern=REVISION,
                                 description="Sync this commit instead of the head.")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(None, pattern=REVISION,
                           description="Revision to go back to; default: the one before.")
    reason: str | None = Field(None, max_length=2000)


class PinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: str = Field(pattern=REVISION)
    reason: str | None = Field(None, max_length=2000)


class Accepted(BaseModel):
    status: Literal["queued"] = "queued"
    app: str | None = None
    message: str


class PinState(BaseModel):
    app: str
    pinned: str | None = None
    reason: str | None = None


class SuspendState(BaseModel):
    app: str
    suspended: bool


class RollbackView(BaseModel):
    app: str
    from_revision: str
    to_revision: str
    commit: str | None = Field(None, description="The revert commit pushed to Git.")
    branch: str | None = None
    pinned: bool = False
    sync_outcome: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not logged in, or the API token is invalid."},
    403: {"model": ErrorBody, "description": "The role or app scope does not allow this."},
    422: {"model": ErrorBody, "description": "A parameter or the body is invalid; the "
                                             "message names the field."},
}
_APP_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 404: {"model": ErrorBody, "description": "No app of that name."}}
_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **_APP_ERRORS, 409: {"model": ErrorBody, "description": "The agent refused the action."}}

AppName = Annotated[str, Path(pattern=APP_NAME, description="The app's name.")]
Reader = Annotated[Principal, Depends(require("read"))]


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

    @router.get("/apps", response_model=AppList, responses=_ERRORS)
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

    @router.get("/apps/{app}", response_model=AppDetail, responses=_APP_ERRORS)
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

    @router.get("/apps/{app}/plan", response_model=PlanView, responses=_ACTION_ERRORS)
    def show_plan(app: AppName, principal: Reader) -> PlanView:
        """What a sync would change now: the diff of Git against live, per field."""
        existing(app)
        report = ctx.agent.plan(app)
        return PlanView(app=report.app, revision=report.revision, subject=report.subject,
                        in_sync=report.plan.in_sync, health=report.health.value,
                        pinned=report.pinned, held=report.held,
                        changes=[_change_view(change) for change in report.plan.pending])

    @router.get("/apps/{app}/runs", response_model=RunList, responses=_APP_ERRORS)
    def list_runs(app: AppName, principal: Reader,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> RunList:
        """The app's runs, newest first (results: GET /runs/{id})."""
        existing(app)
        return RunList(runs=[_run_summary(run) for run in ctx.store.history(app, limit)])

    @router.get("/runs/{run_id}", response_model=RunDetail,
                responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No such run."}})
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

    @router.get("/events", response_model=EventList, responses=_ERRORS)
    def list_events(principal: Reader,
                    app: Annotated[str | None, Query(pattern=APP_NAME)] = None,
                    since: Annotated[int, Query(ge=0, le=2 ** 62,
                                                description="Only events after this id.")] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> EventList:
        """Events oldest first, after `since` (poll with the last id seen)."""
        _check_sees(principal, app)
        found = _visible_events(ctx, principal, app, since, limit)
        return EventList(events=[EventView(**event) for event in found])

    @router.get("/events/stream", responses={
        **_ERRORS, 200: {"description": "Server-sent events: `id:`, `event:` (the kind) and "
                                        "`data:` (the event as JSON).",
                         "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
                response_class=StreamingResponse)
    async def stream_events(request: Request, principal: Reader,
                            app: Annotated[str | None, Query(pattern=APP_NAME)] = None,
                            since: Annotated[int | None, Query(ge=0, le=2 ** 62)] = None
                            ) -> StreamingResponse:
        """New events as they happen (from `since`, or `Last-Event-ID`, or from now)."""
        _check_sees(principal, app)
        start = since if since is not None else _last_event_id(request)
        if start is None:
            latest = await run_in_threadpool(_latest_event_id, ctx)
            start = latest
        return StreamingResponse(
            _event_stream(ctx, request, principal, app, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.get("/sources", response_model=SourceList, responses=_ERRORS)
    def list_sources(principal: Reader) -> SourceList:
        """Each repository the agent follows and its last fetch."""
        return SourceList(sources=[SourceView(**source) for source in ctx.agent.sources()])

    @router.get("/updates", response_model=UpdateList, responses=_ERRORS)
    def list_updates(principal: Reader) -> UpdateList:
        """The version updater's recent runs (its events), newest last."""
        return UpdateList(updates=ctx.agent.updates())

    # -- actions ---------------------------------------------------------------------

    def act(request: Request, principal: Principal, action: str, app: str | None,
            work: Callable[[], _T], target: str | None = None) -> _T:
        """Run `work` for `principal`, recording it (and its failure) for the audit."""
        if app is not None:
            existing(app)
        try:
            done = work()
        except GitwardError as error:
            audit(request, principal.name, action, app=app, target=target, via=principal.via,
                  ok=False, detail=str(error))
            status, code = error_status(error)
            raise ApiError(status, code, str(error)) from None
        audit(request, principal.name, action, app=app, target=target, via=principal.via)
        return done

    @router.post("/apps/{app}/sync", status_code=202, response_model=Accepted,
                 responses=_ACTION_ERRORS)
    def sync(app: AppName, request: Request,
             principal: Annotated[Principal, Depends(require("sync"))],
             body: SyncRequest | None = None) -> Accepted:
        """Queue a sync of the app (or of one resource, or at one revision)."""
        wanted = body or SyncRequest()
        if wanted.resource is not None:
            _check_resource(wanted.resource)
        target = " ".join(part for part in (app, wanted.resource, wanted.revision) if part)
        act(request, principal, "sync", app, lambda: ctx.agent.request_sync(
            app, who=principal.name, resource=wanted.resource, revision=wanted.revision),
            target)
        return Accepted(app=app, message=f"sync of {target} queued")

    @router.post("/refresh", status_code=202, response_model=Accepted, responses=_ERRORS)
    def refresh(request: Request,
                principal: Annotated[Principal, Depends(require("refresh"))]) -> Accepted:
        """Fetch every source now."""
        act(request, principal, "refresh", None,
            lambda: ctx.agent.request_fetch(f"refresh asked by {principal.name}"), "sources")
        return Accepted(message="fetch queued")

    @router.post("/apps/{app}/rollback", response_model=RollbackView,
                 responses=_ACTION_ERRORS)
    def rollback(app: AppName, request: Request,
                 principal: Annotated[Principal, Depends(require("rollback"))],
                 body: RollbackRequest | None = None) -> RollbackView:
        """Revert the app in Git to an earlier revision (as ``gitward rollback`` does)."""
        wanted = body or RollbackRequest()
        report = act(request, principal, "rollback", app, lambda: ctx.agent.rollback(
            app, who=principal.name, to=wanted.to, reason=wanted.reason),
            f"{app} to {wanted.to or 'previous'}")
        outcome = report.sync.outcome if report.sync is not None else None
        return RollbackView(app=report.app, from_revision=report.from_revision,
                            to_revision=report.to_revision, commit=report.commit,
                            branch=report.branch, pinned=report.pinned,
                            sync_outcome=outcome.value if outcome is not None else None)

    @router.post("/apps/{app}/pin", response_model=PinState, responses=_ACTION_ERRORS)
    def pin(app: AppName, body: PinRequest, request: Request,
            principal: Annotated[Principal, Depends(require("pin"))]) -> PinState:
        """Hold the app at a revision: new commits are not synced until unpinned."""
        act(request, principal, "pin", app, lambda: ctx.agent.pin(
            app, body.revision, who=principal.name, reason=body.reason),
            f"{app} at {body.revision}")
        state = ctx.store.app_state(app)
        return PinState(app=app, pinned=state.pinned, reason=state.pin_reason)

    @router.delete("/apps/{app}/pin", response_model=PinState, responses=_ACTION_ERRORS)
    def unpin(app: AppName, request: Request,
              principal: Annotated[Principal, Depends(require("unpin"))]) -> PinState:
        """Follow the branch again."""
        act(request, principal, "unpin", app,
            lambda: ctx.agent.unpin(app, who=principal.name))
        state = ctx.store.app_state(app)
        return PinState(app=app, pinned=state.pinned, reason=state.pin_reason)

    @router.post("/apps/{app}/suspend", response_model=SuspendState,
                 responses=_ACTION_ERRORS)
    def suspend(app: AppName, request: Request,
                principal: Annotated[Principal, Depends(require("suspend"))]) -> SuspendState:
        """Stop automatic syncs and self-heal of the app until resumed."""
        act(request, principal, "suspend", app,
            lambda: ctx.agent.suspend(app, who=principal.name))
        return SuspendState(app=app, suspended=ctx.store.app_state(app).suspended)

    @router.post("/apps/{app}/resume", response_model=SuspendState,
                 responses=_ACTION_ERRORS)
    def resume(app: AppName, request: Request,
               principal: Annotated[Principal, Depends(require("resume"))]) -> SuspendState:
        """Let automatic syncs of the app run again."""
        act(request, principal, "resume", app,
            lambda: ctx.agent.resume(app, who=principal.name))
        return SuspendState(app=app, suspended=ctx.store.app_state(app).suspended)

    # Users and tokens live beside, built on this module's models (hence imported here).
    from gitward.server.api_accounts import create_accounts_router

    router.include_router(create_accounts_router(ctx))
    return router


# -- helpers -------------------------------------------------------------------------

def _check_sees(principal: Principal, app: str | None) -> None:
    if app is not None and not principal.sees(app):
        raise ApiError(403, "forbidden", f"{principal.name} may not read app {app}")


def _check_resource(reference: str) -> None:
    try:
        Key.parse(reference, "local")
    except ValueError as error:
        raise ApiError(422, "invalid", f"body.resource: {error}") from None


def _visible_events(ctx: ServerContext, principal: Principal, app: str | None, since: int,
                    limit: int) -> list[dict[str, Any]]:
    """Up to `limit` events after `since` that `principal` may see."""
    if app is not None or principal.apps.strip() == "*":
        return ctx.store.events(app, since=since, limit=limit)
    found: list[dict[str, Any]] = []
    for _ in range(20):  # a scoped reader skips others' events, a page at a time
        page = ctx.store.events(None, since=since, limit=500)
        found += [e for e in page if e["app"] is not None and principal.sees(e["app"])]
        if len(page) < 500 or len(found) >= limit:
            break
        since = page[-1]["id"]
    return found[:limit]


def _latest_event_id(ctx: ServerContext) -> int:
    since = 0
    while True:
        page = ctx.store.events(None, since=since, limit=1000)
        if len(page) < 1000:
            return page[-1]["id"] if page else since
        since = page[-1]["id"]


def _last_event_id(request: Request) -> int | None:
    value = request.headers.get("last-event-id", "").strip()
    return int(value) if value.isdigit() and len(value) < 18 else None


async def _event_stream(ctx: ServerContext, request: Request, principal: Principal,
                        app: str | None, since: int, poll: float = 0.5,
                        keep_alive: float = 15.0) -> AsyncIterator[str]:
    """SSE lines for each new event, polling the store; ends when the client goes."""
    last, quiet_since = since, time.monotonic()
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        found = await run_in_threadpool(_visible_events, ctx, principal, app, last, 100)
        for event in found:
            last = event["id"]
            body = json.dumps(EventView(**event).model_dump(mode="json"),
                              separators=(",", ":"))
            yield f"id: {event['id']}\nevent: {_sse_word(event['kind'])}\ndata: {body}\n\n"
        now = time.monotonic()
        if found:
            quiet_since = now
        elif now - quiet_since >= keep_alive:
            quiet_since = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(poll)


def _sse_word(kind: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in kind) or "event"


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
