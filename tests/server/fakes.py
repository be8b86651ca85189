"""An agent for the web layer's tests: `AgentActions` over a real SQLite store."""

from __future__ import annotations

import threading
from typing import Any

from gitward.agent.state import AppStatus
from gitward.core.errors import GitwardError
from gitward.core.model import Action, Change, DiffItem, Health, Key, Origin, Plan, Resource
from gitward.core.seams import AuthStore, Store
from gitward.core.system import AppSpec, SystemSpec
from gitward.engine.rollback import RollbackReport
from gitward.engine.sync import AppReport

HEAD = "4f2a9c0d1e2b3a4c5d6e7f8091a2b3c4d5e6f708"
PREVIOUS = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"


def motd(content: str = "hello\n") -> Resource:
    return Resource(Key("File", "local", "motd"), {"path": "/etc/motd", "content": content},
                    wave=1, origin=Origin("apps/web/motd.yaml", 3))


def issue() -> Resource:
    return Resource(Key("File", "local", "issue"), {"path": "/etc/issue", "content": "x"})


class FakeAgent:
    """Answers reads from fixed data and the store; records every action asked for."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.statuses = [
            AppStatus("web", sync="out_of_sync", health="healthy", revision=PREVIOUS, head=HEAD,
                      subject="Say hello", target="local"),
            AppStatus("db", sync="synced", health="degraded", revision=HEAD, head=HEAD),
            AppStatus("web-eu", sync="synced", health="healthy", revision=HEAD, head=HEAD),
        ]
        self.spec = SystemSpec(apps={
            "web": AppSpec(name="web", path="apps/web", depends_on=["db"]),
            "db": AppSpec(name="db", path="apps/db"),
            "web-eu": AppSpec(name="web-eu", path="apps/web-eu"),
        })
        self.calls: list[tuple[str, ...]] = []
        self.fetches: list[str] = []
        self.refuse: GitwardError | None = None  # raised by the next action
        self._lock = threading.Lock()

    # -- reads ------------------------------------------------------------------------

    def ready(self) -> bool:
        return True

    def repository_urls(self) -> list[str]:
        return ["https://git.example.com/ops.git"]

    def apps(self) -> list[AppStatus]:
        return list(self.statuses)

    def system(self) -> SystemSpec | None:
        return self.spec

    def plan(self, app: str) -> AppReport:
        if app == "db":
            raise GitwardError("apps/db/users.yaml:3: spec.name: field required")
        live = motd("old\n")
        changes = (
            Change(issue().key, Action.noop, issue(), issue()),
            Change(live.key, Action.update, motd(), live,
                   (DiffItem("change", "spec.content", "old\n", "hello\n"),)),
        )
        return AppReport(app=app, revision=HEAD, subject="Say hello", plan=Plan(HEAD, changes),
                         health=Health.healthy,
                         healths={issue().key: Health.healthy, live.key: Health.degraded})

    def plan_at(self, app: str, revision: str) -> AppReport:
        return self.plan(app)

    def sources(self) -> list[dict[str, Any]]:
        return [{"url": "https://git.example.com/ops.git", "ref": "main", "revision": HEAD,
                 "last_fetch": 1700000000.0, "error": None}]

    def update_policies(self) -> list[dict[str, Any]]:
        return [{"name": "app-version", "source": "git", "from": "/srv/releases",
                 "select": {"semver": "<2"}, "interval": 300.0, "suspend": False,
                 "commit_mode": "push", "last": None}]

    def updates(self) -> list[dict[str, Any]]:
        return [{"kind": "update-committed", "message": "app-version 1.0.0 -> 1.1.0"}]

    def commit_info(self, revision: str) -> dict[str, Any]:
        return {"subject": "Say hello", "author": "Ada <ada@example.com>", "time": 1700000000.0}

    # -- actions ----------------------------------------------------------------------

    def _record(self, *call: str) -> None:
        with self._lock:
            if self.refuse is not None:
                error, self.refuse = self.refuse, None
                raise error
            self.calls.append(call)

    def request_fetch(self, reason: str) -> None:
        self._record("fetch", reason)
        self.fetches.append(reason)

    def request_sync(self, app: str, *, who: str, resource: str | None = None,
                     revision: str | None = None) -> None:
        self._record("sync", app, who, resource or "", revision or "")

    def rollback(self, app: str, *, who: str, to: str | None = None,
                 reason: str | None = None) -> RollbackReport:
        self._record("rollback", app, who, to or "", reason or "")
        return RollbackReport(app=app, from_revision=HEAD, to_revision=to or PREVIOUS,
                              commit="9e8d7c6b5a49382716059f8e7d6c5b4a39281706",
                              branch="main", sync=None)

    def pin(self, app: str, revision: str, *, who: str, reason: str | None = None) -> None:
        self._record("pin", app, who, revision)
        self.store.pin(app, revision, reason)

    def unpin(self, app: str, *, who: str) -> None:
        self._record("unpin", app, who)
        self.store.pin(app, None)

    def suspend(self, app: str, *, who: str) -> None:
        self._record("suspend", app, who)
        accounts: AuthStore = self.store  # type: ignore[assignment]
        accounts.set_suspended(app, True)

    def resume(self, app: str, *, who: str) -> None:
        self._record("resume", app, who)
        accounts: AuthStore = self.store  # type: ignore[assignment]
        accounts.set_suspended(app, False)
