"""The agent's reconcile loop: fetch, choose apps, sync, check drift, retry.

`Agent.run` is the scheduler. Each pass it:

1. fetches the source when its interval (with jitter) is up or a webhook
   asked; a failed fetch keeps the last good revision and prunes nothing;
2. when the revision moved, reads the system map and queues a sync of every
   app whose inputs changed (its paths, values, the files its last render
   read, or its spec), skipping the rest with an event;
3. queues a drift check (a dry-run plan) of every app whose interval is up;
4. queues the retries that are due.

Operations run in `AppQueue` (one per app at a time). A sync waits for the
app's dependencies to be synced and healthy at the same revision, and holds
with a reason when one failed. Every decision is an event in the store;
notifications go out on failures, recoveries, drift and health changes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.agent.config import AgentConfig
from gitward.agent.decisions import auto_hold, dependency_blocker, touches
from gitward.agent.queue import AppQueue, Operation
from gitward.agent.state import AppStatus
from gitward.agent.updater import ScheduledUpdater
from gitward.core.errors import GitwardError
from gitward.core.model import Key, Outcome, Resource
from gitward.core.seams import Snapshot, Store
from gitward.core.system import AppSpec, SystemSpec
from gitward.engine.render import cross_app_conflicts, input_paths, render_app
from gitward.engine.sync import AppReport, plan_app, sync_app
from gitward.engine.workspace import Workspace

__all__ = ["Agent", "UnknownAppError"]

log = logging.getLogger("gitward.agent")


class UnknownAppError(GitwardError):
    """An action named an app the repository does not declare."""


@dataclass
class _Retry:
    attempt: int = 0
    due: float | None = None


class Agent:
    """gitward as a deployment process; implements `AgentHandle` for the HTTP side."""

    def __init__(self, config: AgentConfig, store: Store, state_dir: Path,
                 metrics: Any = None, notifier: Any = None) -> None:
        self.config, self.store, self.state_dir = config, store, state_dir
        self.metrics, self.notifier = metrics, notifier
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._fetch_reason: str | None = None
        self._lock = threading.RLock()
        self._statuses: dict[str, AppStatus] = {}
        self._retries: dict[str, _Retry] = {}
        self._next_drift: dict[str, float] = {}
        self._snapshot: Snapshot | None = None
        self._system: SystemSpec | None = None
        self._fetch_error: str | None = None
        self._last_fetch: float | None = None
        self._ready = False
        self._source: Any = None
        # Rendered resources per app at the current revision: drift checks of an
        # unchanged app then cost a live read and a plan, nothing more.
        self._desired: dict[str, tuple[str, list[Resource]]] = {}
        self.updater = ScheduledUpdater(store, config.ref, self.request_fetch)
        self.queue = AppQueue(self._operate, config.workers)

    # -- AgentHandle --------------------------------------------------------------

    def ready(self) -> bool:
        return self._ready

    def apps(self) -> list[AppStatus]:
        with self._lock:
            return [AppStatus(**vars(s)) for _, s in sorted(self._statuses.items())]

    def request_fetch(self, reason: str) -> None:
        self._fetch_reason = reason
        self._wake.set()

    def repository_urls(self) -> list[str]:
        return [self.config.repo]

    # -- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Reconcile until `stop()`; then let the operations in hand finish."""
        next_fetch = 0.0
        while not self.stop_event.is_set():
            now = time.monotonic()
            if self._fetch_reason is not None or now >= next_fetch:
                reason, self._fetch_reason = self._fetch_reason or "poll", None
                self._poll(reason)
                spread = self.config.poll_interval * self.config.jitter
                next_fetch = time.monotonic() + self.config.poll_interval + random.uniform(
                    -spread, spread)
            self._queue_due_work(time.monotonic())
            if not self.stop_event.is_set():
                self.updater.start_due(self._snapshot, self._source)
            self._wake.wait(timeout=max(0.05, min(0.5, next_fetch - time.monotonic())))
            self._wake.clear()
        self.queue.close()
        self.updater.join(timeout=60)

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    # -- fetch and choose ------------------------------------------------------------

    def _workspace(self, snapshot: Snapshot | None = None) -> Workspace:
        ws = Workspace(repo=self.config.repo, store=self.store, ref=self.config.ref,
                       state_dir=self.state_dir, root_overrides=self.config.roots)
        if self._source is None:
            self._source = ws.source
        ws._source = self._source
        ws._snapshot = snapshot or self._snapshot
        return ws

    def _poll(self, reason: str) -> None:
        ws = self._workspace(None)
        try:
            snapshot = self._source.fetch(self.config.ref)
        except GitwardError as error:
            self._fetch_failed(str(error))
            return
        if self.metrics:
            self.metrics.fetched(self.config.repo)
        self._fetch_error, self._last_fetch = None, time.time()
        old = self._snapshot
        if old is not None and old.revision == snapshot.revision:
            self._ready = True
            return
        ws._snapshot = snapshot
        try:
            system = ws.system()
        except GitwardError as error:
            self.store.event(None, "invalid", f"cannot read the system map at "
                             f"{snapshot.revision[:12]}: {error}", revision=snapshot.revision)
            log.error("system map at %s is invalid: %s", snapshot.revision[:12], error)
            self._snapshot = snapshot   # do not retry the same revision every poll
            return
        self.store.event(None, "fetched", f"{reason}: {snapshot.revision[:12]} "
                         f"{snapshot.subject}", revision=snapshot.revision)
        old_system, self._snapshot, self._system = self._system, snapshot, system
        self._ready = True
        broken = self._render_all(snapshot, system)
        changed = self._source.changed_paths(old.revision, snapshot.revision) if old else None
        chosen = [name for name, app in system.apps.items() if name not in broken
                  and self._choose(name, app, old_system, changed, snapshot)]
        # Mark every chosen app pending before any starts, so that a dependent never
        # mistakes a dependency's state at the old revision for its state now.
        for name in chosen:
            self._statuses[name].sync = "pending"
        for name in chosen:
            self.queue.submit(name, Operation("sync", "auto"))
        with self._lock:
            for gone in set(self._statuses) - set(system.apps):
                del self._statuses[gone]

    def _render_all(self, snapshot: Snapshot, system: SystemSpec) -> dict[str, str]:
        """Render every unpinned app at a new revision, each on its own: an app that
        does not render, or clashes with another, is marked and left alone; the
        others go ahead."""
        self._desired.clear()
        rendered: dict[str, list[Resource]] = {}
        broken: dict[str, str] = {}
        for name, app in system.apps.items():
            if self.store.app_state(name).pinned:
                continue
            try:
                rendered[name] = render_app(snapshot, app, system, self.state_dir)
            except GitwardError as error:
                broken[name] = str(error)
        broken.update(cross_app_conflicts(rendered))
        for name, resources in rendered.items():
            if name not in broken:
                self._desired[name] = (snapshot.revision, resources)
        for name, message in broken.items():
            status = self._status(name, system.apps[name])
            status.sync, status.message, status.head = "error", message, snapshot.revision
            self.store.event(name, "invalid", message, revision=snapshot.revision)
            self._notify("sync_failed", name, f"{name} cannot render: {message}",
                         snapshot.revision)
        return broken

    def _fetch_failed(self, message: str) -> None:
        if self.metrics:
            self.metrics.fetch_failed(self.config.repo)
        if message != self._fetch_error:
            self._fetch_error = message
            self.store.event(None, "fetch-failed", f"{message}; keeping the last good "
                             "revision, nothing is pruned")
            log.warning("fetch failed: %s", message)

    def _choose(self, name: str, app: AppSpec, old_system: SystemSpec | None,
                changed: set[str] | None, snapshot: Snapshot) -> bool:
        """Whether `app` must sync at this new revision (events say why not)."""
        status = self._status(name, app)
        state = self.store.app_state(name)
        status.head, status.subject, status.pinned = snapshot.revision, snapshot.subject, \
            state.pinned
        status.suspended = app.sync.suspend or state.suspended
        self._next_drift.setdefault(name, time.monotonic() + app.sync.interval)
        before = old_system.apps.get(name) if old_system else None
        affected = (changed is None or before != app
                    or touches(changed, app.watched_paths)
                    or touches(changed, input_paths(self.state_dir, name)))
        if not affected and state.revision is not None:
            self.store.event(name, "skipped", "unchanged at this revision: no watched path "
                             "changed", revision=snapshot.revision)
            return False
        hold = auto_hold(app, state.pinned, state.suspended)
        if hold:
            status.sync, status.message = "out_of_sync", hold
            self.store.event(name, "held", hold, revision=snapshot.revision)
            return False
        self._retries.pop(name, None)
        return True

    def _queue_due_work(self, now: float) -> None:
        system = self._system
        if system is None:
            return
        for name, retry in list(self._retries.items()):
            if retry.due is not None and retry.due <= now and name in system.apps:
                retry.due = None
                self.queue.submit(name, Operation("sync", "retry"))
        for name, due in list(self._next_drift.items()):
            if due <= now and name in system.apps:
                self._next_drift[name] = now + system.apps[name].sync.interval
                self.queue.submit(name, Operation("drift", "interval"))

    # -- operations (in worker threads) ------------------------------------------------

    def _operate(self, name: str, op: Operation) -> None:
        system, snapshot = self._system, self._snapshot
        if system is None or snapshot is None or name not in system.apps:
            return
        app = system.apps[name]
        if op.kind == "drift":
            self._check_drift(name, app, snapshot)
            return
        blocker = dependency_blocker(app, snapshot.revision, self._statuses)
        if blocker:
            status = self._status(name, app)
            if status.message != blocker:
                self.store.event(name, "held", blocker, revision=snapshot.revision)
            status.sync = "waiting" if blocker.startswith("waiting") else "held"
            status.message = blocker
            return
        self._sync(name, app, snapshot, op.trigger, op)

    def _sync(self, name: str, app: AppSpec, snapshot: Snapshot, trigger: str,
              op: Operation | None = None) -> None:
        status = self._status(name, app)
        status.sync = "syncing"
        started = time.monotonic()
        deadline = started + app.sync.timeout if app.sync.timeout else None
        stop = self._stopper(deadline)
        was_failing = status.last_outcome in ("failed", "partial", "error")
        try:
            if op is not None and op.revision:
                # A sync at another revision renders from that commit.
                ws = self._workspace(self._source.snapshot(self._source.resolve(op.revision)))
                desired = None
            else:
                ws = self._workspace(snapshot)
                desired = self._desired_of(name, app, snapshot, status)
            only = Key.parse(op.resource, app.target) if op and op.resource else None
            report = sync_app(ws, name, trigger=trigger, should_stop=stop, wait=600.0,
                              desired=desired, only=only)
        except GitwardError as error:
            self._after_failure(name, app, status, str(error), snapshot, was_failing)
            return
        finally:
            if self.metrics:
                self.metrics.reconciled(name, trigger, time.monotonic() - started)
        self._after_sync(name, app, status, report, was_failing)

    def _desired_of(self, name: str, app: AppSpec, snapshot: Snapshot,
                    status: AppStatus) -> list[Resource] | None:
        """The app's rendered resources at `snapshot`, memoised per revision; None
        for a pinned app (the engine renders it at its pin)."""
        if status.pinned or self._system is None:
            return None
        known = self._desired.get(name)
        if known is not None and known[0] == snapshot.revision:
            return known[1]
        resources = render_app(snapshot, app, self._system, self.state_dir)
        self._desired[name] = (snapshot.revision, resources)
        return resources

    def _stopper(self, deadline: float | None) -> Callable[[], bool]:
        def should_stop() -> bool:
            return self.stop_event.is_set() or (deadline is not None
                                                and time.monotonic() > deadline)
        return should_stop

    def _after_sync(self, name: str, app: AppSpec, status: AppStatus, report: AppReport,
                    was_failing: bool) -> None:
        outcome = report.outcome.value if report.outcome else "unknown"
        if self.metrics:
            self.metrics.run_finished(name, outcome)
        self._set_health(name, status, report.health.value, report.revision)
        status.last_outcome, status.last_sync = outcome, time.time()
        if report.outcome is Outcome.succeeded:
            status.sync, status.message, status.drift = "synced", None, []
            status.revision, status.retries = report.revision, 0
            self._retries.pop(name, None)
            if was_failing:
                self._notify("sync_recovered", name, f"{name} synced again at "
                             f"{report.revision[:12]}", report.revision)
            self._release_dependents(name)
            return
        status.sync, status.message = "out_of_sync", report.error or outcome
        self._notify("sync_failed", name, f"{name} sync {outcome} at {report.revision[:12]}: "
                     f"{report.error}", report.revision)
        if report.outcome is not Outcome.interrupted or not self.stop_event.is_set():
            self._schedule_retry(name, app, status)

    def _after_failure(self, name: str, app: AppSpec, status: AppStatus, message: str,
                       snapshot: Snapshot, was_failing: bool) -> None:
        status.sync, status.message, status.last_outcome = "error", message, "error"
        self.store.event(name, "sync-error", message, revision=snapshot.revision)
        log.error("sync of %s failed: %s", name, message)
        self._notify("sync_failed", name, f"{name} cannot sync: {message}", snapshot.revision)
        self._schedule_retry(name, app, status)

    def _schedule_retry(self, name: str, app: AppSpec, status: AppStatus) -> None:
        retry = self._retries.setdefault(name, _Retry())
        policy = app.sync.retry
        if retry.attempt >= policy.limit:
            if policy.limit:
                self.store.event(name, "retry-exhausted", f"gave up after {policy.limit} "
                                 "retries; the next commit or a manual sync tries again")
            return
        retry.attempt += 1
        delay = policy.delay(retry.attempt)
        retry.due = time.monotonic() + delay
        status.retries = retry.attempt
        self.store.event(name, "retry", f"retry {retry.attempt}/{policy.limit} in {delay:g}s",
                         data={"attempt": retry.attempt, "delay": delay})

    def _check_drift(self, name: str, app: AppSpec, snapshot: Snapshot) -> None:
        status = self._status(name, app)
        try:
            desired = self._desired_of(name, app, snapshot, status)
            report = plan_app(self._workspace(snapshot), name, desired)
        except GitwardError as error:
            status.sync, status.message = "error", str(error)
            return
        self._set_health(name, status, report.health.value, report.revision)
        if report.plan.in_sync:
            if status.sync in ("out_of_sync", "unknown"):
                status.sync, status.message, status.drift = "synced", None, []
            return
        drift = [{"key": str(c.key), "action": c.action.value,
                  "fields": [f.path for f in c.fields]} for c in report.plan.pending]
        newly = status.drift != drift
        status.sync, status.drift = "out_of_sync", drift
        status.message = f"{len(drift)} resource(s) differ from Git"
        if newly:
            summary = ", ".join(f"{d['action']} {d['key']}" for d in drift[:5])
            self.store.event(name, "drift", f"live state differs from {report.revision[:12]}: "
                             f"{summary}", revision=report.revision, data={"changes": drift})
            self._notify("drift_detected", name, f"{name} drifted: {summary}",
                         report.revision)
        if app.sync.self_heal and not auto_hold(app, status.pinned, status.suspended):
            self.store.event(name, "heal", "self_heal is on: re-applying",
                             revision=report.revision)
            self._sync(name, app, snapshot, "self_heal")

    def updates(self) -> list[dict[str, Any]]:
        return self.updater.events()

    # -- dependencies, health, notifications -------------------------------------------

    def _release_dependents(self, name: str) -> None:
        system = self._system
        if system is None:
            return
        for other, app in system.apps.items():
            waiting = self._statuses.get(other)
            if name in app.depends_on and waiting is not None and waiting.sync in (
                    "held", "waiting"):
                self.queue.submit(other, Operation("sync", "dependency"))

    def _set_health(self, name: str, status: AppStatus, health: str, revision: str) -> None:
        before, status.health = status.health, health
        if before == health or before == "unknown":
            return
        if health == "degraded":
            self._notify("health_degraded", name, f"{name} is degraded", revision)
            self.store.event(name, "health", f"health {before} -> {health}", revision=revision)
        elif before == "degraded" and health == "healthy":
            self._notify("health_recovered", name, f"{name} is healthy again", revision)
            self.store.event(name, "health", f"health {before} -> {health}", revision=revision)

    def _notify(self, event: str, app: str, message: str, revision: str | None) -> None:
        if self.notifier is not None:
            self.notifier.notify(event, app, message, revision=revision)

    def _status(self, name: str, app: AppSpec) -> AppStatus:
        with self._lock:
            if name not in self._statuses:
                state = self.store.app_state(name)
                self._statuses[name] = AppStatus(
                    app=name, target=app.target, revision=state.revision,
                    last_sync=state.synced_at, last_outcome=state.outcome,
                    health=state.health or "unknown", pinned=state.pinned,
                    suspended=state.suspended)
            return self._statuses[name]

