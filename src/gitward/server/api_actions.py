"""What ``/api/v1`` may be asked to do: sync, refresh, roll back, pin, suspend.

Each action is a POST (or DELETE) behind its role (`gitward.server.auth.ACTIONS`),
goes through the agent's per-app queue (`gitward.server.context.AgentActions`)
and is recorded as an audit event, refused or not (`act`). Sync and refresh
answer 202 (queued); rollback answers with its revert commit. A `GitwardError`
from the agent is 409, or 422 when the input was at fault (`error_status`).
Mounted by `gitward.server.api.create_api_router`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import APIRouter, Depends, Request

from gitward.core.errors import GitwardError, ManifestError
from gitward.core.model import Key
from gitward.server.api_models import (
    ACTION_ERRORS,
    ERRORS,
    Accepted,
    AppName,
    PinRequest,
    PinState,
    RollbackRequest,
    RollbackView,
    SuspendState,
    SyncRequest,
)
from gitward.server.auth import ApiError, Principal, audit, require

if TYPE_CHECKING:
    from gitward.server.context import ServerContext

__all__ = ["add_action_routes", "error_status"]

_T = TypeVar("_T")


def error_status(error: GitwardError) -> tuple[int, str]:
    """(status, code) for an error the agent raised: bad input 422, else 409."""
    if isinstance(error, ManifestError):
        return 422, "invalid"
    return 409, "conflict"


def add_action_routes(router: APIRouter, ctx: ServerContext,
                      existing: Callable[[str], None]) -> None:
    """Add the action routes to `router`; `existing(app)` raises 404 for an unknown app."""

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
                 responses=ACTION_ERRORS)
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

    @router.post("/refresh", status_code=202, response_model=Accepted, responses=ERRORS)
    def refresh(request: Request,
                principal: Annotated[Principal, Depends(require("refresh"))]) -> Accepted:
        """Fetch every source now."""
        act(request, principal, "refresh", None,
            lambda: ctx.agent.request_fetch(f"refresh asked by {principal.name}"), "sources")
        return Accepted(message="fetch queued")

    @router.post("/apps/{app}/rollback", response_model=RollbackView,
                 responses=ACTION_ERRORS)
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

    @router.post("/apps/{app}/pin", response_model=PinState, responses=ACTION_ERRORS)
    def pin(app: AppName, body: PinRequest, request: Request,
            principal: Annotated[Principal, Depends(require("pin"))]) -> PinState:
        """Hold the app at a revision: new commits are not synced until unpinned."""
        act(request, principal, "pin", app, lambda: ctx.agent.pin(
            app, body.revision, who=principal.name, reason=body.reason),
            f"{app} at {body.revision}")
        state = ctx.store.app_state(app)
        return PinState(app=app, pinned=state.pinned, reason=state.pin_reason)

    @router.delete("/apps/{app}/pin", response_model=PinState, responses=ACTION_ERRORS)
    def unpin(app: AppName, request: Request,
              principal: Annotated[Principal, Depends(require("unpin"))]) -> PinState:
        """Follow the branch again."""
        act(request, principal, "unpin", app,
            lambda: ctx.agent.unpin(app, who=principal.name))
        state = ctx.store.app_state(app)
        return PinState(app=app, pinned=state.pinned, reason=state.pin_reason)

    @router.post("/apps/{app}/suspend", response_model=SuspendState,
                 responses=ACTION_ERRORS)
    def suspend(app: AppName, request: Request,
                principal: Annotated[Principal, Depends(require("suspend"))]) -> SuspendState:
        """Stop automatic syncs and self-heal of the app until resumed."""
        act(request, principal, "suspend", app,
            lambda: ctx.agent.suspend(app, who=principal.name))
        return SuspendState(app=app, suspended=ctx.store.app_state(app).suspended)

    @router.post("/apps/{app}/resume", response_model=SuspendState,
                 responses=ACTION_ERRORS)
    def resume(app: AppName, request: Request,
               principal: Annotated[Principal, Depends(require("resume"))]) -> SuspendState:
        """Let automatic syncs of the app run again."""
        act(request, principal, "resume", app,
            lambda: ctx.agent.resume(app, who=principal.name))
        return SuspendState(app=app, suspended=ctx.store.app_state(app).suspended)


def _check_resource(reference: str) -> None:
    try:
        Key.parse(reference, "local")
    except ValueError as error:
        raise ApiError(422, "invalid", f"body.resource: {error}") from None
