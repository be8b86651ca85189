"""What the web layer may ask of a running agent (`AgentActions`).

`WebActions` wraps an `Agent`: reads come from what the agent already knows
(its current revision, statuses, renders), and every action goes through the
agent's own paths — a sync is queued on the app's single-operation queue, a
rollback is a Git commit as on the command line, a pin or a suspension is
recorded in the store where the agent's scheduler honours it.
"""

from __future__ import annotations

from typing import Any

from gitward.agent.queue import Operation
from gitward.agent.runner import Agent, UnknownAppError
from gitward.agent.state import AppStatus
from gitward.core.errors import GitwardError
from gitward.core.model import Key
from gitward.core.seams import Snapshot
from gitward.core.system import SystemSpec
from gitward.engine.rollback import RollbackReport, record_pin, unpin_app
from gitward.engine.sync import AppReport, plan_app

__all__ = ["WebActions"]


class WebActions:
    """`AgentActions` for the HTTP API and the web UI."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def ready(self) -> bool:
        return self.agent.ready()

    def apps(self) -> list[AppStatus]:
        return self.agent.apps()

    def updates(self) -> list[dict[str, Any]]:
        return self.agent.updates()

    def request_fetch(self, reason: str) -> None:
        self.agent.request_fetch(reason)

    def update_policies(self) -> list[dict[str, Any]]:
        """The update policies at the current revision, each with its last event."""
        from gitward.updates.policy import load_policies

        snapshot = self.agent._snapshot
        if snapshot is None:
            return []
        last: dict[str, dict[str, Any]] = {}
        for event in self.agent.updates():
            if event.get("app"):
                last[event["app"]] = event
        rows = []
        for name, policy in sorted(load_policies(snapshot).items()):
            source = policy.source.model_dump(exclude_none=True, mode="json")
            kind = next(iter(source), "?")
            rows.append({"name": name, "source": kind, "from": _source_label(source[kind]),
                         "select": policy.select.model_dump(exclude_none=True, mode="json"),
                         "interval": policy.interval, "suspend": policy.suspend,
                         "commit_mode": policy.commit.mode, "last": last.get(name)})
        return rows

    def system(self) -> SystemSpec | None:
        return self.agent._system

    def plan(self, app: str) -> AppReport:
        system, snapshot = self._require_app(app)
        status = self.agent._status(app, system.apps[app])
        desired = self.agent._desired_of(app, system.apps[app], snapshot, status)
        return plan_app(self.agent._workspace(snapshot), app, desired)

    def plan_at(self, app: str, revision: str) -> AppReport:
        """A dry run of the app as it was at `revision` against live state: what a
        rollback to `revision` would do."""
        from gitward.config import load_system
        from gitward.engine.render import render_app

        self._require_app(app)
        source = self.agent._source
        snapshot = source.snapshot(source.resolve(revision))
        system = load_system(snapshot, root_overrides=self.agent.config.roots)
        if app not in system.apps:
            raise UnknownAppError(f"app {app!r} does not exist at {revision[:12]}")
        desired = render_app(snapshot, system.apps[app], system, None)
        return plan_app(self.agent._workspace(snapshot), app, desired, probe=False)

    def sources(self) -> list[dict[str, Any]]:
        from gitward.sources.urls import redact_url_credentials

        snapshot = self.agent._snapshot
        config = self.agent.config
        return [{"url": redact_url_credentials(config.repo), "ref": config.ref,
                 "revision": snapshot.revision if snapshot else None,
                 "subject": snapshot.subject if snapshot else None,
                 "last_fetch": self.agent._last_fetch, "error": self.agent._fetch_error}]

    def commit_info(self, revision: str) -> dict[str, Any]:
        commit = self.agent._source.commit(revision)
        message = commit.message.strip()
        return {"revision": str(commit.id), "subject": message.splitlines()[0] if message
                else "", "author": commit.author.name, "email": commit.author.email,
                "time": float(commit.commit_time)}

    def request_sync(self, app: str, *, who: str, resource: str | None = None,
                     revision: str | None = None) -> None:
        system, snapshot = self._require_app(app)
        if resource is not None:
            Key.parse(resource, system.apps[app].target)   # refuse a bad reference now
        what = (f" of {resource}" if resource else "") + (
            f" at {revision[:12]}" if revision else "")
        self.agent.store.event(app, "sync-requested", f"{who} asked for a sync{what}",
                               revision=revision or snapshot.revision, data={"who": who})
        self.agent.queue.submit(app, Operation("sync", "api", resource, revision))

    def rollback(self, app: str, *, who: str, to: str | None = None,
                 reason: str | None = None) -> RollbackReport:
        from gitward.engine.rollback import rollback_app

        self._require_app(app)
        ws = self.agent._workspace(None)
        ws._snapshot = None
        report = rollback_app(ws, app, to=to, reason=reason or f"requested by {who}")
        self.agent.request_fetch(f"rollback of {app} by {who}")
        return report

    def pin(self, app: str, revision: str, *, who: str, reason: str | None = None) -> None:
        system, _ = self._require_app(app)
        full = self.agent._source.resolve(revision)
        record_pin(self.agent.store, app, full, reason or f"pinned by {who}", who=who)
        self.agent._status(app, system.apps[app]).pinned = full
        self.agent.queue.submit(app, Operation("sync", "pin"))

    def unpin(self, app: str, *, who: str) -> None:
        system, _ = self._require_app(app)
        unpin_app(self.agent.store, app, who=who)
        self.agent._status(app, system.apps[app]).pinned = None
        self.agent.queue.submit(app, Operation("sync", "unpin"))

    def suspend(self, app: str, *, who: str) -> None:
        system, _ = self._require_app(app)
        self.agent.store.set_suspended(app, True)  # type: ignore[attr-defined]
        self.agent.store.event(app, "suspended", f"{who} suspended automatic syncs of {app}")
        self.agent._status(app, system.apps[app]).suspended = True

    def resume(self, app: str, *, who: str) -> None:
        system, _ = self._require_app(app)
        self.agent.store.set_suspended(app, False)  # type: ignore[attr-defined]
        self.agent.store.event(app, "resumed", f"{who} resumed automatic syncs of {app}")
        self.agent._status(app, system.apps[app]).suspended = system.apps[app].sync.suspend
        self.agent.queue.submit(app, Operation("sync", "resume"))

    def _require_app(self, app: str) -> tuple[SystemSpec, Snapshot]:
        system, snapshot = self.agent._system, self.agent._snapshot
        if system is None or snapshot is None:
            raise GitwardError("the agent has not read the repository yet; try again shortly")
        if app not in system.apps:
            raise UnknownAppError(f"no app named {app!r}; known apps: "
                                  f"{', '.join(sorted(system.apps)) or 'none'}")
        return system, snapshot


def _source_label(spec: dict[str, Any]) -> str:
    """Where a policy looks, without credentials (auth names environment variables)."""
    parts = [str(spec[k]) for k in ("url", "index", "repository", "package") if spec.get(k)]
    return " ".join(parts)
