"""A store in a few dicts, for unit tests of logic that needs one.

`MemoryStore` behaves like `gitward.stores.sql.SqlStore` — the same test
suite runs against both — but keeps nothing after the process ends. Values
go through the same JSON codec as in the SQL store (sensitive fields
redacted, tuples back as lists), so a test cannot pass here and fail there
because of what a database does to data.

>>> store = MemoryStore()
>>> store.pin("web", "3f2a", reason="incident 42")
>>> store.app_state("web").pinned
'3f2a'
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitward.core.model import (
    Action,
    Health,
    Key,
    Outcome,
    Plan,
    RecordedResult,
    Resource,
    Result,
    Run,
)
from gitward.core.seams import AppState
from gitward.stores.accounts import UserExistsError
from gitward.stores.codec import (
    diff_items_from_json,
    plan_summary_from_json,
    plan_summary_to_json,
    resource_from_json,
    resource_to_json,
    result_fields_to_json,
)
from gitward.stores.rules import Remove, Upsert, finish_counts, inventory_effect, marks_synced

__all__ = ["MemoryStore"]


def _as_stored(value: Any) -> Any:
    """`value` as it would come back from a JSON column."""
    return json.loads(json.dumps(value))


@dataclass(slots=True)
class _InventoryRow:
    resource: dict[str, Any]
    live: dict[str, Any] | None
    revision: str | None


@dataclass(slots=True)
class _RunRow:
    run: Run
    plan: list[dict[str, str]]
    results: list[RecordedResult] = field(default_factory=list)


class MemoryStore:
    """A `gitward.core.seams.Store` held in memory (see the module doc)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._inventory: dict[str, dict[Key, _InventoryRow]] = {}
        self._runs: dict[int, _RunRow] = {}
        self._backups: dict[tuple[str, str], bytes] = {}
        self._events: list[dict[str, Any]] = []
        self._states: dict[str, AppState] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._tokens: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        pass

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- inventory --------------------------------------------------------------

    def inventory(self, app: str) -> dict[Key, Resource]:
        with self._lock:
            rows = list(self._inventory.get(app, {}).values())
        found = (resource_from_json(row.resource) for row in rows)
        return {res.key: res for res in found}

    def recorded(self, app: str) -> dict[Key, Resource]:
        with self._lock:
            rows = list(self._inventory.get(app, {}).values())
        found = (resource_from_json(row.live) for row in rows if row.live is not None)
        return {res.key: res for res in found}

    def remember(self, app: str, entries: Collection[tuple[Resource, Resource | None]]) -> None:
        with self._lock:
            for desired, live in entries:
                self._upsert(app, desired, live, revision=None)

    def forget(self, app: str, keys: Collection[Key]) -> None:
        with self._lock:
            for key in keys:
                self._inventory.get(app, {}).pop(key, None)

    def _upsert(self, app: str, desired: Resource, live: Resource | None,
                revision: str | None) -> None:
        """Store the pair; `revision` None keeps the revision that last changed it."""
        rows = self._inventory.setdefault(app, {})
        previous = rows.get(desired.key)
        rows[desired.key] = _InventoryRow(
            _as_stored(resource_to_json(desired)),
            None if live is None else _as_stored(resource_to_json(live, desired.sensitive)),
            revision if revision is not None or previous is None else previous.revision)

    # -- runs -------------------------------------------------------------------

    def begin(self, app: str, revision: str, plan: Plan, *, trigger: str = "manual",
              subject: str = "", dry_run: bool = False) -> int:
        with self._lock:
            run_id = len(self._runs) + 1
            run = Run(id=run_id, app=app, revision=revision, trigger=trigger,
                      started=time.time(), finished=None, outcome=Outcome.running, health=None,
                      counts=plan.counts(), subject=subject, dry_run=dry_run)
            self._runs[run_id] = _RunRow(run, plan_summary_to_json(plan))
            self._states.setdefault(app, AppState(app))
        return run_id

    def result(self, run: int, result: Result) -> None:
        self.results(run, [result])

    def results(self, run: int, results: Sequence[Result]) -> None:
        with self._lock:
            row = self._runs[run]
            for result in results:
                row.results.append(_recorded(result))
                if not row.run.dry_run:
                    self._apply_to_inventory(row.run, result)

    def _apply_to_inventory(self, run: Run, result: Result) -> None:
        effect = inventory_effect(result)
        if isinstance(effect, Upsert):
            self._upsert(run.app, effect.desired, effect.live,
                         run.revision if effect.applied else None)
        elif isinstance(effect, Remove):
            self._inventory.get(run.app, {}).pop(effect.key, None)

    def finish(self, run: int, outcome: str, health: Health, error: str | None = None) -> None:
        with self._lock:
            row = self._runs[run]
            now = time.time()
            skipped = sum(r.skipped for r in row.results)
            failed = sum(not r.ok and not r.skipped for r in row.results)
            row.run = replace(row.run, finished=now, outcome=Outcome(outcome),
                              health=Health(health), error=error,
                              counts=finish_counts(row.run.counts, failed, skipped))
            if row.run.dry_run:
                return
            state: dict[str, Any] = {"outcome": Outcome(outcome).value,
                                     "health": Health(health).value}
            if marks_synced(outcome, row.run.dry_run):
                state |= {"revision": row.run.revision, "synced_at": now}
            self._update_state(row.run.app, **state)

    def interrupt_running(self, app: str) -> int:
        with self._lock:
            running = [row for row in self._runs.values()
                       if row.run.app == app and row.run.outcome is Outcome.running]
            for row in running:
                row.run = replace(row.run, outcome=Outcome.interrupted, finished=time.time())
        return len(running)

    def history(self, app: str, limit: int = 50) -> list[Run]:
        with self._lock:
            found = [row.run for row in self._runs.values() if row.run.app == app]
        return sorted(found, key=lambda r: r.id, reverse=True)[:limit]

    def run(self, run: int) -> Run | None:
        with self._lock:
            row = self._runs.get(run)
            return None if row is None else replace(row.run, results=tuple(row.results))

    def planned(self, run: int) -> list[tuple[Key, Action]]:
        """The changes run `run` set out to make (noops left out), in plan order."""
        with self._lock:
            row = self._runs.get(run)
        return [] if row is None else plan_summary_from_json(row.plan)

    # -- backups ----------------------------------------------------------------

    def save_backup(self, target: str, claim: str, key: Key, data: bytes) -> None:
        """The first backup of a claim stays until dropped (see `SqlStore.save_backup`)."""
        with self._lock:
            self._backups.setdefault((target, claim), bytes(data))

    def load_backup(self, target: str, claim: str) -> bytes | None:
        with self._lock:
            return self._backups.get((target, claim))

    def drop_backup(self, target: str, claim: str) -> None:
        with self._lock:
            self._backups.pop((target, claim), None)

    # -- events -----------------------------------------------------------------

    def event(self, app: str | None, kind: str, message: str, *, revision: str | None = None,
              data: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self._events.append({
                "id": len(self._events) + 1, "at": time.time(), "app": app,
                "revision": revision, "kind": kind, "message": message,
                "data": None if data is None else _as_stored(dict(data))})

    def events(self, app: str | None = None, since: int = 0, limit: int = 100
               ) -> list[dict[str, Any]]:
        with self._lock:
            found = [dict(e) for e in self._events[max(since, 0):]
                     if app is None or e["app"] == app]
        return found[:limit]

    # -- app state --------------------------------------------------------------

    def app_state(self, app: str) -> AppState:
        with self._lock:
            return self._states.get(app, AppState(app))

    def apps(self) -> list[AppState]:
        with self._lock:
            return [self._states[app] for app in sorted(self._states)]

    def pin(self, app: str, revision: str | None, reason: str | None = None) -> None:
        with self._lock:
            self._update_state(app, pinned=revision, pin_reason=reason if revision else None)

    def note_synced(self, app: str, revision: str, tree_id: str | None) -> None:
        """See `SqlStore.note_synced`."""
        with self._lock:
            self._update_state(app, revision=revision, tree_id=tree_id)

    def set_suspended(self, app: str, value: bool) -> None:
        with self._lock:
            self._update_state(app, suspended=bool(value))

    def _update_state(self, app: str, **values: Any) -> None:
        self._states[app] = replace(self._states.get(app, AppState(app)), **values)

    # -- users and API tokens -----------------------------------------------------

    def add_user(self, name: str, password_hash: str, role: str, apps: str = "*") -> None:
        with self._lock:
            if name in self._users:
                raise UserExistsError(name)
            self._users[name] = {"name": name, "password_hash": password_hash, "role": role,
                                 "apps": apps, "created_at": time.time(), "disabled": False}

    def user(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._users.get(name)
            return None if found is None else dict(found)

    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(self._users[name]) for name in sorted(self._users)]

    def set_user(self, name: str, *, password_hash: str | None = None, role: str | None = None,
                 apps: str | None = None, disabled: bool | None = None) -> bool:
        """See `SqlStore.set_user`."""
        given = {"password_hash": password_hash, "role": role, "apps": apps,
                 "disabled": disabled}
        with self._lock:
            found = self._users.get(name)
            if found is None:
                return False
            found.update({column: value for column, value in given.items()
                          if value is not None})
            return True

    def add_token(self, name: str, token_hash: str, role: str, apps: str = "*", *,
                  user: str | None = None, expires_at: float | None = None) -> int:
        with self._lock:
            if any(t["token_hash"] == token_hash for t in self._tokens.values()):
                raise ValueError("a token with this hash exists already")
            token_id = len(self._tokens) + 1
            self._tokens[token_id] = {
                "id": token_id, "name": name, "user": user, "role": role, "apps": apps,
                "token_hash": token_hash, "created_at": time.time(), "expires_at": expires_at,
                "revoked_at": None, "last_used_at": None}
        return token_id

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        with self._lock:
            for token in self._tokens.values():
                if token["token_hash"] == token_hash:
                    return dict(token)
        return None

    def tokens(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(self._tokens[i]) for i in sorted(self._tokens)]

    def revoke_token(self, token_id: int) -> bool:
        """See `SqlStore.revoke_token`."""
        with self._lock:
            token = self._tokens.get(token_id)
            if token is None or token["revoked_at"] is not None:
                return False
            token["revoked_at"] = time.time()
            return True

    def touch_token(self, token_id: int) -> None:
        with self._lock:
            if token_id in self._tokens:
                self._tokens[token_id]["last_used_at"] = time.time()


def _recorded(result: Result) -> RecordedResult:
    change = result.change
    fields = result_fields_to_json(result)
    return RecordedResult(key=change.key, action=change.action, ok=result.ok,
                          error=result.error, fields=diff_items_from_json(_as_stored(fields)),
                          duration=result.duration, skipped=result.skipped)

