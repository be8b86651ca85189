"""What a web request may use: the store and the agent's actions.

`AgentActions` is the seam between the web layer and the running agent:
reads of what the agent knows, and requests that go through the agent's
per-app queue (a sync asked for over HTTP never runs beside another
operation on the same app). Every action names `who` for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gitward.agent.state import AppStatus
    from gitward.core.seams import Store
    from gitward.core.system import SystemSpec
    from gitward.engine.rollback import RollbackReport
    from gitward.engine.sync import AppReport

__all__ = ["AgentActions", "ServerContext"]


class AgentActions(Protocol):
    # -- reads ----------------------------------------------------------------------
    def ready(self) -> bool: ...
    def apps(self) -> list[AppStatus]: ...
    def system(self) -> SystemSpec | None: ...            # the map at the current revision
    def plan(self, app: str) -> AppReport: ...            # dry run against live, now
    def plan_at(self, app: str, revision: str) -> AppReport: ...  # the app at `revision`
    def sources(self) -> list[dict[str, Any]]: ...        # url, ref, revision, last_fetch, error
    def updates(self) -> list[dict[str, Any]]: ...        # the updater's recent events
    def update_policies(self) -> list[dict[str, Any]]: ...  # the policies at this revision
    def commit_info(self, revision: str) -> dict[str, Any]: ...  # subject, author, time

    # -- actions (each recorded as an audit event naming `who`) ----------------------
    def request_fetch(self, reason: str) -> None: ...
    def request_sync(self, app: str, *, who: str, resource: str | None = None,
                     revision: str | None = None) -> None: ...
    def rollback(self, app: str, *, who: str, to: str | None = None,
                 reason: str | None = None) -> RollbackReport: ...
    def pin(self, app: str, revision: str, *, who: str, reason: str | None = None) -> None: ...
    def unpin(self, app: str, *, who: str) -> None: ...
    def suspend(self, app: str, *, who: str) -> None: ...
    def resume(self, app: str, *, who: str) -> None: ...


@dataclass
class ServerContext:
    store: Store
    agent: AgentActions
    secret_key: bytes            # signs session cookies and CSRF tokens
    secure_cookies: bool = False  # set Secure on cookies (behind TLS)
