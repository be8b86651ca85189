"""The SQL store: SQLite for one agent, PostgreSQL for many, one code path.

`SqlStore` keeps inventories, runs and their results, backups, events, app
state, users and API tokens. Every statement is SQL text written once for
both databases (`gitward.stores.sql_statements`); opening the store, its
driver (the stdlib sqlite3 module for SQLite, so a command on the default
store never imports SQLAlchemy; SQLAlchemy with psycopg 3 for PostgreSQL),
migrations and short per-call transactions are
`gitward.stores.sql_connection.SqlConnection`'s, which it builds on. Each
result of a run is written as it comes, and updates the inventory in the
same transaction, so a crash loses at most the result being written. An
app's inventory is read once and then kept up to date by the store's own
writes (see `SqlStore._inventory_pair`).

Usually reached through `gitward.stores.open_store(url)`; every message shows
the URL without its password.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.core.model import Action, Health, Key, Outcome, Plan, Resource, Result, Run
from gitward.core.seams import AppState
from gitward.stores import sql_statements as statements
from gitward.stores.accounts import UserExistsError
from gitward.stores.codec import (
    key_to_json,
    plan_summary_from_json,
    plan_summary_to_json,
    resource_from_json,
)
from gitward.stores.rules import Remove, Upsert, finish_counts, inventory_effect, marks_synced
from gitward.stores.sql_connection import SqlConnection, engine_url
from gitward.stores.sql_driver import Driver
from gitward.stores.sql_statements import (
    app_state_from_row,
    event_from_row,
    inventory_row,
    json_text,
    json_value,
    key_row,
    recorded_from_row,
    result_row,
    run_from_row,
    user_from_row,
)

__all__ = ["SqlStore", "engine_url"]


@dataclass(slots=True)
class _OpenRun:
    """What `result` needs to know of a run, kept in memory while it runs."""

    app: str
    revision: str
    dry_run: bool
    next_seq: int


class SqlStore(SqlConnection):
    """A `gitward.core.seams.Store` on SQLite or PostgreSQL (see the module doc).

    Also a `gitward.core.seams.AuthStore` (users, API tokens, suspensions).
    Beyond the Protocols: `note_synced` (remember the tree an app was synced
    at), `planned` (what a run set out to change) and use as a context manager.
    """

    def __init__(self, url: str) -> None:
        self._open_runs: dict[int, _OpenRun] = {}
        self._inventory_cache: dict[str, tuple[Any, dict[Key, Resource],
                                               dict[Key, Resource]]] = {}
        self._cache_writes: dict[str, int] = {}
        super().__init__(url)

    def _forget_cached_reads(self) -> None:
        self._inventory_cache.clear()

    # -- inventory --------------------------------------------------------------

    def inventory(self, app: str) -> dict[Key, Resource]:
        applied, _ = self._inventory_pair(app)
        return dict(applied)

    def recorded(self, app: str) -> dict[Key, Resource]:
        _, live = self._inventory_pair(app)
        return dict(live)

    def _inventory_pair(self, app: str) -> tuple[dict[Key, Resource], dict[Key, Resource]]:
        """(as applied, as live after apply) for `app`, read once and then kept up
        to date by this store's own writes; a run of another process (seen as a
        new or newly finished latest run) makes it read again. An agent's drift
        checks and syncs of a large app so never decode its whole inventory."""
        with self._reading() as db:
            latest = db.execute(statements.LATEST_RUN, {"app": app})
            marker = (latest[0]["id"], latest[0]["finished"]) if latest else None
            cached = self._inventory_cache.get(app)
            if cached is not None and cached[0] == marker:
                return cached[1], cached[2]
            rows = db.execute(statements.READ_INVENTORY, {"app": app})
        applied: dict[Key, Resource] = {}
        live: dict[Key, Resource] = {}
        for row in rows:
            res = resource_from_json(json_value(row["resource"]))
            applied[res.key] = res
            if row["live"] is not None and row["live"] != "null":
                seen = resource_from_json(json_value(row["live"]))
                live[seen.key] = seen
        self._inventory_cache[app] = (marker, applied, live)
        self._cache_writes[app] = 0
        return applied, live

    def remember(self, app: str, entries: Collection[tuple[Resource, Resource | None]]) -> None:
        rows = [inventory_row(app, desired, live, None, time.time())
                for desired, live in entries]
        if rows:
            with self._writing() as db:
                db.execute_many(statements.REFRESH_INVENTORY, rows)
                for row in rows:
                    self._cache_upsert(app, row)

    def forget(self, app: str, keys: Collection[Key]) -> None:
        if keys:
            with self._writing() as db:
                db.execute_many(statements.DELETE_INVENTORY, [key_row(app, key) for key in keys])
                for key in keys:
                    self._cache_remove(app, key)

    # -- runs -------------------------------------------------------------------

    def begin(self, app: str, revision: str, plan: Plan, *, trigger: str = "manual",
              subject: str = "", dry_run: bool = False) -> int:
        row = {"app": app, "revision": revision, "subject": subject, "trigger": trigger,
               "started": time.time(), "outcome": Outcome.running.value, "dry_run": dry_run,
               "counts": json_text(plan.counts()), "plan": json_text(plan_summary_to_json(plan))}
        with self._writing() as db:
            run_id: int = db.execute(statements.INSERT_RUN, row)[0]["id"]
            db.execute(statements.TOUCH_APP, {"app": app})
            self._open_runs[run_id] = _OpenRun(app, revision, dry_run, next_seq=0)
            self._cache_marker(app, (run_id, None))
        return run_id

    def result(self, run: int, result: Result) -> None:
        self.results(run, [result])

    def results(self, run: int, results: Sequence[Result]) -> None:
        if not results:
            return
        with self._writing() as db:
            info = self._open_run(db, run)
            rows = [result_row(run, info.next_seq + seq, result)
                    for seq, result in enumerate(results)]
            db.execute_many(statements.INSERT_RESULT, rows)
            info.next_seq += len(results)
            if not info.dry_run:
                self._apply_to_inventory(db, info, results)

    def _apply_to_inventory(self, db: Driver, info: _OpenRun, results: Sequence[Result]) -> None:
        """What `results` did to the inventory, in their order: a run of the
        same statement goes to the database in one `execute_many`."""
        runs: list[tuple[str, list[dict[str, Any]]]] = []
        now = time.time()
        for result in results:
            effect = inventory_effect(result)
            if isinstance(effect, Upsert):
                revision = info.revision if effect.applied else None
                row = inventory_row(info.app, effect.desired, effect.live, revision, now)
                statement = (statements.APPLY_INVENTORY if effect.applied
                             else statements.REFRESH_INVENTORY)
                self._cache_upsert(info.app, row)
            elif isinstance(effect, Remove):
                row, statement = key_row(info.app, effect.key), statements.DELETE_INVENTORY
                self._cache_remove(info.app, effect.key)
            else:
                continue
            if runs and runs[-1][0] == statement:
                runs[-1][1].append(row)
            else:
                runs.append((statement, [row]))
        for statement, rows in runs:
            db.execute_many(statement, rows)

    def _cache_upsert(self, app: str, row: dict[str, Any]) -> None:
        cached = self._inventory_cache.get(app)
        if cached is None:
            return
        writes = self._cache_writes.get(app, 0) + 1
        self._cache_writes[app] = writes
        if writes > max(100, len(cached[1]) // 10):
            # A big change (a first converge) is cheaper to read back later than
            # to mirror here, and mirroring it would hold a second copy in memory.
            del self._inventory_cache[app]
            return
        # Decode the JSON written, so the cache holds exactly what a read would.
        res = resource_from_json(json.loads(row["resource"]))
        cached[1][res.key] = res
        if row["live"] is not None:
            cached[2][res.key] = resource_from_json(json.loads(row["live"]))
        else:
            cached[2].pop(res.key, None)

    def _cache_remove(self, app: str, key: Key) -> None:
        cached = self._inventory_cache.get(app)
        if cached is not None:
            cached[1].pop(key, None)
            cached[2].pop(key, None)

    def _cache_marker(self, app: str, marker: tuple[int, float | None]) -> None:
        cached = self._inventory_cache.get(app)
        if cached is not None:
            self._inventory_cache[app] = (marker, cached[1], cached[2])

    def _open_run(self, db: Driver, run: int) -> _OpenRun:
        """The run's facts, from memory or (begun by another process) from the table."""
        if run in self._open_runs:
            return self._open_runs[run]
        found = db.execute(statements.OPEN_RUN, {"run": run})
        if not found:
            raise KeyError(f"run {run} does not exist")
        last = db.execute(statements.LAST_SEQ, {"run": run})[0]["last_seq"]
        info = _OpenRun(found[0]["app"], found[0]["revision"], bool(found[0]["dry_run"]),
                        next_seq=0 if last is None else last + 1)
        self._open_runs[run] = info
        return info

    def finish(self, run: int, outcome: str, health: Health, error: str | None = None) -> None:
        outcome = Outcome(outcome).value
        with self._writing() as db:
            info = self._open_run(db, run)
            counted = db.execute(statements.COUNT_FAILED_AND_SKIPPED, {"run": run})[0]
            planned = json_value(db.execute(statements.PLANNED_COUNTS, {"run": run})[0]["counts"])
            now = time.time()
            counts = finish_counts(planned, counted["failed"] or 0, counted["skipped"] or 0)
            db.execute(statements.FINISH_RUN, {
                "run": run, "finished": now, "outcome": outcome, "health": Health(health).value,
                "error": error, "counts": json_text(counts)})
            cached = self._inventory_cache.get(info.app)
            if cached is not None and cached[0] is not None and cached[0][0] == run:
                self._cache_marker(info.app, (run, now))
            if not info.dry_run:
                state: dict[str, Any] = {"outcome": outcome, "health": Health(health).value}
                if marks_synced(outcome, info.dry_run):
                    state |= {"revision": info.revision, "synced_at": now}
                self._update_app_state(db, info.app, state)
        self._open_runs.pop(run, None)

    def interrupt_running(self, app: str) -> int:
        values = {"app": app, "running": Outcome.running.value,
                  "interrupted": Outcome.interrupted.value, "finished": time.time()}
        with self._writing() as db:
            return len(db.execute(statements.INTERRUPT_RUNNING, values))

    def history(self, app: str, limit: int = 50) -> list[Run]:
        with self._reading() as db:
            rows = db.execute(statements.HISTORY, {"app": app, "limit": limit})
        return [run_from_row(row) for row in rows]

    def run(self, run: int) -> Run | None:
        with self._reading() as db:
            found = db.execute(statements.RUN, {"run": run})
            if not found:
                return None
            recorded = db.execute(statements.RUN_RESULTS, {"run": run})
        return run_from_row(found[0], tuple(recorded_from_row(r) for r in recorded))

    def planned(self, run: int) -> list[tuple[Key, Action]]:
        """The changes run `run` set out to make (noops left out), in plan order;
        empty for an unknown run. After a crash this is what may be half done."""
        with self._reading() as db:
            found = db.execute(statements.RUN_PLAN, {"run": run})
        return plan_summary_from_json(json_value(found[0]["plan"]) if found else ())

    # -- backups ----------------------------------------------------------------

    def save_backup(self, target: str, claim: str, key: Key, data: bytes) -> None:
        """Keep `data` as what `claim` held before gitward; the first backup of a
        claim stays until dropped, so a retry never overwrites the original."""
        row = {"target": target, "claim": claim, "key": json_text(key_to_json(key)),
               "data": data, "taken_at": time.time()}
        with self._writing() as db:
            db.execute(statements.KEEP_FIRST_BACKUP, row)

    def load_backup(self, target: str, claim: str) -> bytes | None:
        with self._reading() as db:
            found = db.execute(statements.LOAD_BACKUP, {"target": target, "claim": claim})
        return bytes(found[0]["data"]) if found else None

    def drop_backup(self, target: str, claim: str) -> None:
        with self._writing() as db:
            db.execute(statements.DROP_BACKUP, {"target": target, "claim": claim})

    # -- events -----------------------------------------------------------------

    def event(self, app: str | None, kind: str, message: str, *, revision: str | None = None,
              data: Mapping[str, Any] | None = None) -> None:
        row = {"at": time.time(), "app": app, "revision": revision, "kind": kind,
               "message": message, "data": None if data is None else json_text(dict(data))}
        with self._writing() as db:
            db.execute(statements.INSERT_EVENT, row)

    def events(self, app: str | None = None, since: int = 0, limit: int = 100
               ) -> list[dict[str, Any]]:
        query = statements.EVENTS if app is None else statements.APP_EVENTS
        params = {"since": since, "limit": limit, "app": app}
        with self._reading() as db:
            rows = db.execute(query, params)
        return [event_from_row(row) for row in rows]

    # -- app state --------------------------------------------------------------

    def app_state(self, app: str) -> AppState:
        with self._reading() as db:
            found = db.execute(statements.APP_STATE, {"app": app})
        return app_state_from_row(found[0]) if found else AppState(app)

    def apps(self) -> list[AppState]:
        with self._reading() as db:
            rows = db.execute(statements.APPS)
        return [app_state_from_row(row) for row in rows]

    def pin(self, app: str, revision: str | None, reason: str | None = None) -> None:
        with self._writing() as db:
            self._update_app_state(db, app, {"pinned": revision,
                                             "pin_reason": reason if revision else None})

    def note_synced(self, app: str, revision: str, tree_id: str | None) -> None:
        """Remember that `app` is in sync with `revision`, whose tree at the app's
        path is `tree_id`: while that tree stays the same the engine need not
        render the app again."""
        with self._writing() as db:
            self._update_app_state(db, app, {"revision": revision, "tree_id": tree_id})

    def set_suspended(self, app: str, value: bool) -> None:
        with self._writing() as db:
            self._update_app_state(db, app, {"suspended": bool(value)})

    def _update_app_state(self, db: Driver, app: str, values: dict[str, Any]) -> None:
        db.execute(statements.TOUCH_APP, {"app": app})
        db.execute(statements.update_app_state(values), {**values, "app": app})

    # -- users and API tokens -----------------------------------------------------

    def add_user(self, name: str, password_hash: str, role: str, apps: str = "*") -> None:
        row = {"name": name, "password_hash": password_hash, "role": role, "apps": apps,
               "created_at": time.time(), "disabled": False}
        try:
            with self._writing() as db:
                db.execute(statements.INSERT_USER, row)
        except self._db.duplicate_errors:
            raise UserExistsError(name) from None

    def user(self, name: str) -> dict[str, Any] | None:
        with self._reading() as db:
            found = db.execute(statements.USER, {"name": name})
        return user_from_row(found[0]) if found else None

    def users(self) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(statements.USERS)
        return [user_from_row(row) for row in rows]

    def set_user(self, name: str, *, password_hash: str | None = None, role: str | None = None,
                 apps: str | None = None, disabled: bool | None = None) -> bool:
        """Change what is given; False if there is no such user."""
        values = {"name": name, "password_hash": password_hash, "role": role, "apps": apps,
                  "disabled": disabled}
        with self._writing() as db:
            return bool(db.execute(statements.SET_USER, values))

    def add_token(self, name: str, token_hash: str, role: str, apps: str = "*", *,
                  user: str | None = None, expires_at: float | None = None) -> int:
        row = {"name": name, "user": user, "role": role, "apps": apps, "token_hash": token_hash,
               "created_at": time.time(), "expires_at": expires_at}
        with self._writing() as db:
            token_id: int = db.execute(statements.INSERT_TOKEN, row)[0]["id"]
        return token_id

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        with self._reading() as db:
            found = db.execute(statements.TOKEN_BY_HASH, {"token_hash": token_hash})
        return dict(found[0]) if found else None

    def tokens(self) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(statements.TOKENS)
        return [dict(row) for row in rows]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; False if there is none of that id or it was revoked already."""
        with self._writing() as db:
            return bool(db.execute(statements.REVOKE_TOKEN, {"id": token_id, "now": time.time()}))

    def touch_token(self, token_id: int) -> None:
        with self._writing() as db:
            db.execute(statements.TOUCH_TOKEN, {"id": token_id, "now": time.time()})
