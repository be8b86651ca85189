"""The shapes of ``/api/v1``: what a request may send and what comes back.

Each model below is what `gitward.server.api` (and `gitward.server.api_actions`,
`gitward.server.api_events`, `gitward.server.api_accounts`) answers or accepts,
so the OpenAPI document (``/api/v1/openapi.json``) says exactly what comes back.
The path and body patterns (`APP_NAME`, `REVISION`, `RESOURCE_REF`) refuse bad
input with 422 before a route runs; `ERRORS`, `APP_ERRORS` and `ACTION_ERRORS`
document the error body (`ErrorBody`) each kind of route may answer with.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from gitward.server.auth import Principal, require

MAX_ID = 2 ** 31 - 1
APP_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$"
REVISION = r"^[0-9a-fA-F]{4,64}$"
RESOURCE_REF = r"^[^/@\s]+/[^@\s]+(@[^@\s]+)?$"

SyncState = Literal["synced", "out_of_sync", "syncing", "held", "error", "unknown"]
HealthState = Literal["healthy", "progressing", "unknown", "missing", "degraded"]


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
    policies: list[dict[str, Any]] = Field(
        default_factory=list, description="Update policies at the current revision.")
    updates: list[dict[str, Any]] = Field(description="The updater's recent runs (events).")


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


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not logged in, or the API token is invalid."},
    403: {"model": ErrorBody, "description": "The role or app scope does not allow this."},
    422: {"model": ErrorBody, "description": "A parameter or the body is invalid; the "
                                             "message names the field."},
}
APP_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"model": ErrorBody, "description": "No app of that name."}}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **APP_ERRORS, 409: {"model": ErrorBody, "description": "The agent refused the action."}}

AppName = Annotated[str, Path(pattern=APP_NAME, description="The app's name.")]
Reader = Annotated[Principal, Depends(require("read"))]

