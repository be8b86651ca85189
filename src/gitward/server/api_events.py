"""The event feed of ``/api/v1``: ``GET /events`` to poll, ``/events/stream`` to follow.

Both read the store's event log oldest first and show a caller only the
events of apps it may see (`Principal.sees`); a scoped reader's query skips
others' events a page at a time. The stream is server-sent events: it polls
the store, starts after ``since``, the ``Last-Event-ID`` header or the
latest event, and sends a keep-alive comment when nothing happens. Mounted
by `gitward.server.api.create_api_router`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gitward.server.api_models import APP_NAME, ERRORS, EventList, EventView, Reader
from gitward.server.auth import ApiError, Principal

if TYPE_CHECKING:
    from gitward.server.context import ServerContext

__all__ = ["add_event_routes"]


def add_event_routes(router: APIRouter, ctx: ServerContext) -> None:
    """Add ``GET /events`` and ``GET /events/stream`` to `router`."""

    @router.get("/events", response_model=EventList, responses=ERRORS)
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
        **ERRORS, 200: {"description": "Server-sent events: `id:`, `event:` (the kind) and "
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


def _check_sees(principal: Principal, app: str | None) -> None:
    if app is not None and not principal.sees(app):
        raise ApiError(403, "forbidden", f"{principal.name} may not read app {app}")


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

