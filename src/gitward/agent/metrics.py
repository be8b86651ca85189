"""Prometheus metrics: what the agent has been doing, for dashboards and alerts.

`AgentMetrics` owns a private `CollectorRegistry`, so two agents in one
process (or one test after another) never share counters. The agent's loop
records into it, and ``GET /metrics`` serves `render()`:

- ``gitward_reconcile_duration_seconds{app, trigger}`` — how long operations take;
- ``gitward_runs_total{app, outcome}`` — runs by outcome (succeeded, failed, ...);
- ``gitward_apps{sync, health}`` — how many apps are in each state now;
- ``gitward_source_last_fetch_timestamp_seconds{source}`` — alert when it lags;
- ``gitward_source_fetch_failures_total{source}`` — fetches that failed;
- ``gitward_webhook_deliveries_total{provider, result}`` — one of `WEBHOOK_RESULTS`.

Label values come only from the agent's own configuration and fixed lists,
never straight from a request, so a caller cannot grow the series without bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from gitward.agent.state import AppStatus

__all__ = ["WEBHOOK_RESULTS", "AgentMetrics"]

WEBHOOK_RESULTS: tuple[str, ...] = (
    "accepted", "duplicate", "ignored", "unauthorized", "bad_request", "too_large",
    "unknown_repository")

# From a no-op sync of a small app to a slow database migration.
_RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                      600.0)


class AgentMetrics:
    """The agent's metrics and the registry that renders them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconcile_duration = Histogram(
            "gitward_reconcile_duration_seconds", "Time taken by one reconcile of one app.",
            ["app", "trigger"], buckets=_RECONCILE_BUCKETS, registry=self.registry)
        self.runs = Counter(
            "gitward_runs_total", "Runs finished, by outcome.", ["app", "outcome"],
            registry=self.registry)
        self.apps = Gauge(
            "gitward_apps", "Apps in each sync and health state.", ["sync", "health"],
            registry=self.registry)
        self.source_last_fetch = Gauge(
            "gitward_source_last_fetch_timestamp_seconds",
            "Unix time of the last successful fetch of each source.", ["source"],
            registry=self.registry)
        self.source_fetch_failures = Counter(
            "gitward_source_fetch_failures_total", "Fetches of each source that failed.",
            ["source"], registry=self.registry)
        self.webhook_deliveries = Counter(
            "gitward_webhook_deliveries_total", "Webhook deliveries received, by result.",
            ["provider", "result"], registry=self.registry)
        # Every state pair ever shown, so a state that empties reads 0, not stale.
        self._app_states_shown: set[tuple[str, str]] = set()
        self._app_states_lock = threading.Lock()

    def reconciled(self, app: str, trigger: str, seconds: float) -> None:
        self.reconcile_duration.labels(app=app, trigger=trigger).observe(seconds)

    def run_finished(self, app: str, outcome: str) -> None:
        self.runs.labels(app=app, outcome=outcome).inc()

    def set_app_states(self, statuses: Iterable[AppStatus]) -> None:
        """Replace the per-state app counts with those of `statuses`."""
        counts: dict[tuple[str, str], int] = {}
        for status in statuses:
            pair = (status.sync, status.health)
            counts[pair] = counts.get(pair, 0) + 1
        with self._app_states_lock:
            self._app_states_shown.update(counts)
            for sync, health in self._app_states_shown:
                self.apps.labels(sync=sync, health=health).set(counts.get((sync, health), 0))

    def fetched(self, source: str, at: float | None = None) -> None:
        """Record a successful fetch of `source` at Unix time `at` (default: now)."""
        self.source_last_fetch.labels(source=source).set(time.time() if at is None else at)

    def fetch_failed(self, source: str) -> None:
        self.source_fetch_failures.labels(source=source).inc()

    def count_webhook(self, provider: str, result: str) -> None:
        """Count one delivery; `result` must be one of `WEBHOOK_RESULTS`."""
        if result not in WEBHOOK_RESULTS:
            raise ValueError(f"unknown webhook result {result!r}; "
                             f"choose from {list(WEBHOOK_RESULTS)}")
        self.webhook_deliveries.labels(provider=provider, result=result).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for ``GET /metrics``."""
        with self._app_states_lock:  # never show a half-updated set of app states
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
