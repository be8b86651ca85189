"""The agent's HTTP surface: probes, metrics, status and webhooks.

`create_router` gives the agent's own routes around an `AgentHandle`; they
read status and ask for fetches, and never touch the engine:

- ``GET /healthz`` — the process answers (liveness);
- ``GET /readyz`` — 200 once the agent has loaded its first revision, else 503;
- ``GET /metrics`` — Prometheus text from `AgentMetrics`, app states counted afresh;
- ``POST /hooks/{provider}`` — a forge says "this repository changed".

They need no login (webhooks carry their own HMAC). The REST API under
``/api/v1`` (apps, updates, actions) is `gitward.server.api`, behind
authentication; `gitward.server.app.create_server` mounts both.
`create_app` is these routes alone on a FastAPI app, plus — until
`gitward.agent.process` serves `create_server` — the old unauthenticated
``GET /api/v1/apps`` and ``/api/v1/updates`` (`_legacy_status_routes`).

A webhook goes through these steps, each ending the request when it fails:
known provider (404), body within ``max_body`` (413, judged from
Content-Length before reading, then chunk by chunk), signature (401),
JSON (400), seen before (202 duplicate), a push (202 ignored), a managed
repository (202 ignored — answering 2xx stops the sender retrying), and only
then ``handle.request_fetch``. Every delivery is counted by result. Errors are
``{"error": {"code": ..., "message": ...}}``.

`serve` wraps the app in a `uvicorn.Server` that the agent runs in a thread
and stops by setting ``server.should_exit``.
"""

from __future__ import annotations

import logging

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from gitward.agent.metrics import AgentMetrics
from gitward.agent.state import AgentHandle
from gitward.agent.webhooks import (
    PROVIDERS,
    Delivery,
    DeliveryLog,
    WebhookError,
    repository_matches,
    verify_and_parse,
)

__all__ = ["create_app", "create_router", "error_response", "parse_listen", "serve"]

logger = logging.getLogger("gitward.agent.http")

_RESULT_OF_STATUS = {400: "bad_request", 401: "unauthorized", 413: "too_large"}
_CODE_OF_STATUS = {400: "bad_request", 401: "unauthorized", 404: "not_found",
                   405: "method_not_allowed", 413: "too_large", 500: "internal", 503: "not_ready"}


def create_app(handle: AgentHandle, metrics: AgentMetrics, *, webhook_secret: str | None,
               max_body: int = 1_048_576, deliveries: DeliveryLog | None = None) -> FastAPI:
    """The agent's routes alone on an app; `deliveries` defaults to a fresh `DeliveryLog`."""
    app = FastAPI(title="gitward agent", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail))

    app.include_router(create_router(handle, metrics, webhook_secret=webhook_secret,
                                     max_body=max_body, deliveries=deliveries))
    return app


def create_router(handle: AgentHandle, metrics: AgentMetrics, *, webhook_secret: str | None,
                  max_body: int = 1_048_576, deliveries: DeliveryLog | None = None
                  ) -> APIRouter:
    """Probes, metrics and webhooks (see the module doc), left out of the OpenAPI."""
    router = APIRouter(include_in_schema=False)
    webhooks = _WebhookReceiver(handle, metrics, webhook_secret, max_body,
                                deliveries or DeliveryLog())

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        if _is_ready(handle):
            return JSONResponse({"status": "ready"})
        return error_response(503, "the agent has not loaded a revision yet")

    @router.get("/metrics")
    def prometheus_metrics() -> Response:
        _refresh_app_states(handle, metrics)
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    @router.post("/hooks/{provider}", status_code=202)
    async def receive_webhook(provider: str, request: Request) -> JSONResponse:
        return await webhooks.receive(provider, request)

    return router


def error_response(status: int, message: str) -> JSONResponse:
    """The one error shape of the agent's API."""
    code = _CODE_OF_STATUS.get(status, f"http_{status}")
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _refresh_app_states(handle: AgentHandle, metrics: AgentMetrics) -> None:
    # Counted at scrape time, so gitward_apps is never older than the scrape.
    try:
        metrics.set_app_states(handle.apps())
    except Exception:  # serve the other metrics; the last counts stay
        logger.exception("reading the apps' status for /metrics failed")


def _is_ready(handle: AgentHandle) -> bool:
    try:
        return handle.ready()
    except Exception:  # a probe answers; it never raises
        logger.exception("asking the agent whether it is ready failed")
        return False


class _WebhookReceiver:
    """The steps from a POST to "fetch now", with their counts."""

    def __init__(self, handle: AgentHandle, metrics: AgentMetrics, secret: str | None,
                 max_body: int, deliveries: DeliveryLog) -> None:
        self._handle = handle
        self._metrics = metrics
        self._secret = secret
        self._max_body = max_body
        self._deliveries = deliveries

    async def receive(self, provider: str, request: Request) -> JSONResponse:
        if provider not in PROVIDERS:  # not counted: the label would come from the caller
            return error_response(404, f"unknown webhook provider {provider!r}; "
                                       f"use one of: {', '.join(PROVIDERS)}")
        try:
            body = await read_capped_body(request, self._max_body)
            delivery = verify_and_parse(provider, request.headers, body, self._secret)
        except ClientDisconnect:  # nobody is left to answer
            logger.info("webhook %s: the sender hung up before its body ended", provider)
            self._count(provider, "bad_request")
            return error_response(400, "the request body ended early")
        except WebhookError as error:
            logger.warning("webhook %s refused (%d): %s", provider, error.status, error.message)
            self._count(provider, _RESULT_OF_STATUS.get(error.status, "bad_request"))
            return error_response(error.status, error.message)
        return await self._act_on(delivery)

    async def _act_on(self, delivery: Delivery) -> JSONResponse:
        provider, delivery_id = delivery.provider, delivery.delivery_id
        log_key = None if delivery_id is None else f"{provider}:{delivery_id}"
        if not self._deliveries.first_time(log_key):
            return self._answer(provider, "duplicate", {"status": "duplicate"})
        if not delivery.is_push:
            return self._answer(provider, "ignored", {
                "status": "ignored", "reason": f"event {delivery.event!r} is not a push"})
        try:
            managed = await run_in_threadpool(self._is_managed, delivery)
            if managed:
                await run_in_threadpool(self._handle.request_fetch,
                                        f"webhook {provider} {delivery_id or '(no id)'}")
        except Exception:
            logger.exception("asking for a fetch after webhook %s %s failed", provider,
                             delivery_id)
            self._deliveries.forget(log_key)  # let the sender's retry through
            return error_response(500, "the agent could not schedule a fetch; retry later")
        if not managed:
            return self._answer(provider, "unknown_repository", {
                "status": "ignored: unknown repository",
                "reason": "no repository this agent manages matches the delivery"})
        logger.info("webhook %s %s: fetch requested for %s", provider, delivery_id,
                    delivery.ref or "(no ref)")
        return self._answer(provider, "accepted", {"status": "accepted"})

    def _is_managed(self, delivery: Delivery) -> bool:
        return any(repository_matches(delivery.repositories, managed)
                   for managed in self._handle.repository_urls())

    def _answer(self, provider: str, result: str, body: dict[str, str]) -> JSONResponse:
        self._count(provider, result)
        return JSONResponse(body, status_code=202)

    def _count(self, provider: str, result: str) -> None:
        self._metrics.count_webhook(provider, result)


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request body, refused with a 413 `WebhookError` once it passes `limit` bytes.

    A declared Content-Length over the limit is refused before anything is
    read; a chunked body is read until it passes the limit, and no further.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise WebhookError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise WebhookError(413, f"body of {int(declared)} bytes is over the "
                                    f"{limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookError(413, f"body is over the {limit}-byte limit")
    return bytes(body)


def serve(app: FastAPI, listen: str) -> uvicorn.Server:
    """A uvicorn server for `app` on ``host:port`` (``[::1]:8080``; ``:8080`` = all IPv4).

    Run it with ``server.run()`` in a thread; set ``server.should_exit`` to stop it.
    """
    host, port = parse_listen(listen)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return uvicorn.Server(config)


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"`` → ``("127.0.0.1", 8080)``; raises ValueError naming the value."""
    host, colon, port_text = listen.strip().rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"listen address {listen!r} must be host:port, e.g. 127.0.0.1:8080")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)
