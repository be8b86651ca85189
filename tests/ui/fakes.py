"""A fake agent for the web UI's tests: four apps, a few commits, one pending diff.

`FakeAgent` implements `gitward.server.context.AgentActions` over a real
`MemoryStore`: a sync records a run (with per-resource results) at the head
revision, a rollback makes a revert commit and syncs it, so the pages show
what a running agent would.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from gitward.agent.state import AppStatus
from gitward.core.errors import GitwardError
from gitward.core.model import (
    Action,
    Change,
    DiffItem,
    Health,
    Key,
    Origin,
    Outcome,
    Plan,
    Resource,
    Result,
)
from gitward.core.system import AppSpec, SystemSpec
from gitward.engine.rollback import RollbackReport
from gitward.engine.sync import AppReport
from gitward.server.auth import hash_password
from gitward.stores.memory import MemoryStore

NGINX_V1 = "worker_processes 2;\nevents {}\nhttp {\n  server { listen 80; }\n}\n"
NGINX_V2 = "worker_processes 4;\nevents {}\nhttp {\n  server { listen 80; }\n}\n"
NGINX_V3 = ("worker_processes 4;\nevents {}\nhttp {\n  gzip on;\n  server { listen 8080; }\n"
            "}\n")
SECRET_OLD = "<redacted:1a2b3c4d>"
SECRET_NEW = "<redacted:9f8e7d6c>"
PASSWORDS = {"admin": "admin-pass", "operator": "operator-pass", "viewer": "viewer-pass"}


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


REV1, REV2, REV3 = sha("one"), sha("two"), sha("three")


def _file(name: str, spec: dict[str, Any], *, wave: int = 0,
          depends_on: tuple[Key, ...] = (), kind: str = "File") -> Resource:
    return Resource(Key(kind, "local", name), spec, wave=wave, depends_on=depends_on,
                    origin=Origin(f"apps/web/{name}.yaml", 1))


def web_plan(revision: str) -> Plan:
    conf = Key("File", "local", "nginx-conf")
    return Plan(revision, (
        Change(conf, Action.update, _file("nginx-conf", {"content": NGINX_V3}),
               _file("nginx-conf", {"content": NGINX_V2}),
               (DiffItem("change", "spec.content", NGINX_V2, NGINX_V3),)),
        Change(Key("File", "local", "app-env"), Action.update,
               _file("app-env", {"mode": "0600", "password": SECRET_NEW}, wave=1,
                     depends_on=(conf,)),
               _file("app-env", {"mode": "0644", "password": SECRET_OLD}, wave=1),
               (DiffItem("change", "spec.mode", "0644", "0600"),
                DiffItem("change", "spec.password", SECRET_OLD, SECRET_NEW))),
        Change(Key("File", "local", "motd"), Action.noop, _file("motd", {"content": "hi\n"},
                                                               wave=1),
               _file("motd", {"content": "hi\n"}, wave=1)),
        Change(Key("Service", "local", "web"), Action.create,
               _file("web", {"state": "running"}, wave=2, depends_on=(conf,), kind="Service"),
               None, (DiffItem("add", "spec.state", None, "running"),)),
        Change(Key("File", "local", "old-banner"), Action.delete, None,
               _file("old-banner", {"content": "bye\n"})),
    ))


class FakeAgent:
    """`AgentActions` for tests; see the module docstring."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        now = time.time()
        self.commits: dict[str, dict[str, Any]] = {
            REV1: {"subject": "Add web app", "author": "Ada Lovelace", "time": now - 7200},
            REV2: {"subject": "Bump nginx workers", "author": "Linus Torvalds",
                   "time": now - 3600},
            REV3: {"subject": "Tune web config <gzip>", "author": "Grace Hopper",
                   "time": now - 600},
        }
        self.head = REV3
        self.in_sync: set[str] = {"db", "worker", "edge"}
        self.fetches: list[str] = []
        self._system = SystemSpec(apps={
            "db": AppSpec(name="db", path="apps/db"),
            "web": AppSpec(name="web", path="apps/web", depends_on=["db"]),
            "worker": AppSpec(name="worker", path="apps/worker", depends_on=["db"]),
            "edge": AppSpec(name="edge", path="apps/edge", depends_on=["web"]),
        })
        self._seed()

    def _seed(self) -> None:
        conf = Key("File", "local", "nginx-conf")
        create = Change(conf, Action.create, _file("nginx-conf", {"content": NGINX_V1}), None,
                        (DiffItem("add", "spec.content", None, NGINX_V1),))
        update = Change(conf, Action.update, _file("nginx-conf", {"content": NGINX_V2}),
                        _file("nginx-conf", {"content": NGINX_V1}),
                        (DiffItem("change", "spec.content", NGINX_V1, NGINX_V2),))
        self._record("web", REV1, "auto", [create])
        self._record("web", REV2, "auto", [update])
        for app in ("db", "worker", "edge"):
            self._record(app, REV2, "auto", [])
        self.store.event("web", "drift", "live state differs from " + REV3[:12],
                         revision=REV3)
        self.store.event("policy-nginx", "update-committed", "nginx 1.25 → 1.27",
                         revision=REV3)

    def _record(self, app: str, revision: str, trigger: str, changes: list[Change],
                health: Health = Health.healthy) -> int:
        plan = Plan(revision, tuple(changes))
        run = self.store.begin(app, revision, plan, trigger=trigger,
                               subject=self.commits[revision]["subject"])
        for change in changes:
            self.store.result(run, Result(change, True, live_after=change.desired,
                                          duration=0.01))
        self.store.finish(run, Outcome.succeeded.value, health)
        self.store.note_synced(app, revision, None)
        return run

    # -- reads --------------------------------------------------------------------

    def ready(self) -> bool:
        return True

    def apps(self) -> list[AppStatus]:
        out = []
        for name, spec in sorted(self._system.apps.items()):
            state = self.store.app_state(name)
            status = AppStatus(name, "synced" if name in self.in_sync else "out_of_sync",
                               "healthy", state.revision, self.head,
                               self.commits.get(state.revision or "", {}).get("subject", ""),
                               spec.target, state.synced_at, state.outcome,
                               suspended=state.suspended, pinned=state.pinned)
            if name == "worker":
                status.health, status.message = "degraded", "probe <b>failed</b>: exit 3"
            if name not in self.in_sync:
                status.message = "4 resource(s) differ from Git"
            out.append(status)
        return out

    def system(self) -> SystemSpec | None:
        return self._system

    def plan_at(self, app: str, revision: str) -> AppReport:
        """This fake keeps no files per revision: like an agent that cannot render
        the revision, it refuses, and the page falls back to the recorded runs."""
        raise GitwardError(f"cannot render {app} at {revision}")

    def plan(self, app: str) -> AppReport:
        self._require(app)
        plan = web_plan(self.head) if app == "web" and app not in self.in_sync else Plan(
            self.head)
        healths = {c.key: Health.healthy for c in plan.changes if c.desired is not None}
        return AppReport(app, self.head, self.commits[self.head]["subject"], plan,
                         Health.healthy, healths=healths)

    def sources(self) -> list[dict[str, Any]]:
        return [{"url": "https://git.example.com/ops/system.git", "ref": "main",
                 "revision": self.head, "subject": self.commits[self.head]["subject"],
                 "last_fetch": time.time() - 30, "error": None}]

    def update_policies(self) -> list[dict[str, Any]]:
        return [{"name": "web-image", "source": "registry", "from": "https://registry.test t/web",
                 "select": {"semver": ">=1 <2"}, "interval": 300.0, "suspend": False,
                 "commit_mode": "branch", "last": None}]

    def updates(self) -> list[dict[str, Any]]:
        return [e for e in self.store.events(None, 0, 1000) if e["kind"].startswith("update")]

    def commit_info(self, revision: str) -> dict[str, Any]:
        if revision not in self.commits:
            raise GitwardError(f"no commit {revision}")
        return {"revision": revision, "email": "dev@example.com", **self.commits[revision]}

    # -- actions ------------------------------------------------------------------

    def request_fetch(self, reason: str) -> None:
        self.fetches.append(reason)

    def request_sync(self, app: str, *, who: str, resource: str | None = None,
                     revision: str | None = None) -> None:
        self._require(app)
        self.store.event(app, "sync-requested", f"{who} asked for a sync", revision=self.head)
        changes = [c for c in self.plan(app).plan.changes if c.action is not Action.noop]
        self._record(app, self.head, "api", changes)
        self.in_sync.add(app)

    def rollback(self, app: str, *, who: str, to: str | None = None,
                 reason: str | None = None) -> RollbackReport:
        self._require(app)
        target = next((r for r in self.commits if to and r.startswith(to)), None)
        if target is None:
            raise GitwardError(f"unknown revision {to!r}")
        before = self.store.app_state(app).revision or self.head
        commit = sha(f"revert {app} {target} {len(self.commits)}")
        self.commits[commit] = {"subject": f"Roll back {app} to {target[:7]}"
                                + (f": {reason}" if reason else ""),
                                "author": "gitward", "time": time.time()}
        self.head = commit
        run = self._record(app, commit, "rollback", [])
        self.in_sync.add(app)
        report = AppReport(app, commit, self.commits[commit]["subject"], Plan(commit),
                           Health.healthy, outcome=Outcome.succeeded, run_id=run)
        return RollbackReport(app, before, target, commit, "main", report)

    def pin(self, app: str, revision: str, *, who: str, reason: str | None = None) -> None:
        self.store.pin(app, revision, reason)

    def unpin(self, app: str, *, who: str) -> None:
        self.store.pin(app, None)

    def suspend(self, app: str, *, who: str) -> None:
        self._require(app)
        self.store.set_suspended(app, True)
        self.store.event(app, "suspended", f"{who} suspended automatic syncs of {app}")

    def resume(self, app: str, *, who: str) -> None:
        self._require(app)
        self.store.set_suspended(app, False)
        self.store.event(app, "resumed", f"{who} resumed automatic syncs of {app}")

    def _require(self, app: str) -> None:
        if app not in self._system.apps:
            raise GitwardError(f"no app named {app!r}")


def make_store() -> MemoryStore:
    store = MemoryStore()
    for role, password in PASSWORDS.items():
        store.add_user(role, hash_password(password), role)
    return store
