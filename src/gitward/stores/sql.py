"""The SQL store: SQLite for one agent, PostgreSQL for many, one code path.

`SqlStore` keeps inventories, runs and their results, backups, events, app
state, users and API tokens. Opening the store, migrating its schema
(Alembic's) and its short per-call transactions are
`gitward.stores.sql_connection.SqlConnection`'s, which it builds on; the
statements and the rows it reads and writes are `gitward.stores.sql_statements`'.
Each result of a run is written as it comes, and updates the inventory in
the same transaction, so a crash loses at most the result being written. An
app's inventory is read once and then kept up to date by the store's own
writes (see `SqlStore._inventory_pair`).

Usually reached through `gitward.stores.open_store(url)`; ``postgresql://``
URLs use psycopg 3, and every message shows the URL without its password.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gitward.core.model import Action, Health, Key, Outcome, Plan, Resource, Result, Run
from gitward.core.seams import AppState
from gitward.stores.accounts import UserExistsError
from gitward.stores.codec import (
    key_to_json,
    plan_summary_from_json,
    plan_summary_to_json,
    resource_from_json,
)
from gitward.stores.rules import Remove, Upsert, finish_counts, inventory_effect, marks_synced
from gitward.stores.schema import (
    api_tokens,
    app_state,
    backups,
    events,
    inventory,
    results,
    runs,
    users,
)
from gitward.stores.sql_connection import SqlConnection, engine_url
from gitward.stores.sql_statements import (
    COUNT_FAILED_AND_SKIPPED,
    DELETE_INVENTORY,
    INSERT_EVENT,
    INSERT_RESULT,
    RUN_COLUMNS,
    Statements,
    inventory_row,
    json_value,
    key_row,
    recorded_from_row,
    result_row,
    run_from_row,
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
        self._statements = Statements(self._dialect)

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
        marker_query = (sa.select(runs.c.id, runs.c.finished).where(runs.c.app == app)
                        .order_by(runs.c.id.desc()).limit(1))
        with self._reading() as conn:
            latest = conn.execute(marker_query).first()
            marker = tuple(latest) if latest else None
            cached = self._inventory_cache.get(app)
            if cached is not None and cached[0] == marker:
                return cached[1], cached[2]
            # Raw text and json.loads: SQLAlchemy's JSON result processing costs
            # more than the decoding itself on a 10,000-resource inventory.
            query = sa.select(sa.type_coerce(inventory.c.resource, sa.Text),
                              sa.type_coerce(inventory.c.live, sa.Text)).where(
                                  inventory.c.app == app)
            rows = conn.execute(query).all()
        applied: dict[Key, Resource] = {}
        live: dict[Key, Resource] = {}
        for resource_text, live_text in rows:
            res = resource_from_json(json_value(resource_text))
            applied[res.key] = res
            if live_text is not None and live_text != "null":
                seen = resource_from_json(json_value(live_text))
                live[seen.key] = seen
        self._inventory_cache[app] = (marker, applied, live)
        self._cache_writes[app] = 0
        return applied, live

    def remember(self, app: str, entries: Collection[tuple[Resource, Resource | None]]) -> None:
        rows = [inventory_row(app, desired, live, None, time.time())
                for desired, live in entries]
        if rows:
            with self._writing() as conn:
                conn.execute(self._statements.refresh_inventory, rows)
                for row in rows:
                    self._cache_upsert(app, row)

    def forget(self, app: str, keys: Collection[Key]) -> None:
        rows = [{"b_app": app, **key_row(key)} for key in keys]
        if rows:
            with self._writing() as conn:
                conn.execute(DELETE_INVENTORY, rows)
                for key in keys:
                    self._cache_remove(app, key)

    # -- runs -------------------------------------------------------------------

    def begin(self, app: str, revision: str, plan: Plan, *, trigger: str = "manual",
              subject: str = "", dry_run: bool = False) -> int:
        row = {"app": app, "revision": revision, "subject": subject, "trigger": trigger,
               "started": time.time(), "finished": None, "outcome": Outcome.running.value,
               "health": None, "error": None, "dry_run": dry_run, "counts": plan.counts(),
               "plan": plan_summary_to_json(plan)}
        with self._writing() as conn:
            run_id: int = conn.execute(runs.insert().returning(runs.c.id), row).scalar_one()
            conn.execute(self._statements.touch_app, {"app": app})
            self._open_runs[run_id] = _OpenRun(app, revision, dry_run, next_seq=0)
            self._cache_marker(app, (run_id, None))
        return run_id

    def result(self, run: int, result: Result) -> None:
        with self._writing() as conn:
            info = self._open_run(conn, run)
            conn.execute(INSERT_RESULT, result_row(run, info.next_seq, result))
            if not info.dry_run:
                self._apply_to_inventory(conn, info, result)
            info.next_seq += 1

    def _apply_to_inventory(self, conn: sa.Connection, info: _OpenRun, result: Result) -> None:
        effect = inventory_effect(result)
        if isinstance(effect, Upsert):
            revision = info.revision if effect.applied else None
            row = inventory_row(info.app, effect.desired, effect.live, revision, time.time())
            statement = (self._statements.apply_inventory if effect.applied
                         else self._statements.refresh_inventory)
            conn.execute(statement, row)
            self._cache_upsert(info.app, row)
        elif isinstance(effect, Remove):
            conn.execute(DELETE_INVENTORY, {"b_app": info.app, **key_row(effect.key)})
            self._cache_remove(info.app, effect.key)

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
        # Round-trip what was written, so the cache holds exactly what a read would.
        res = resource_from_json(json.loads(json.dumps(row["resource"])))
        cached[1][res.key] = res
        if row.get("live") is not None:
            cached[2][res.key] = resource_from_json(json.loads(json.dumps(row["live"])))
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

    def _open_run(self, conn: sa.Connection, run: int) -> _OpenRun:
        """The run's facts, from memory or (begun by another process) from the table."""
        if run in self._open_runs:
            return self._open_runs[run]
        found = conn.execute(sa.select(runs.c.app, runs.c.revision, runs.c.dry_run)
                             .where(runs.c.id == run)).first()
        if found is None:
            raise KeyError(f"run {run} does not exist")
        last = conn.execute(sa.select(sa.func.max(results.c.seq))
                            .where(results.c.run_id == run)).scalar()
        info = _OpenRun(found.app, found.revision, found.dry_run,
                        next_seq=0 if last is None else last + 1)
        self._open_runs[run] = info
        return info

    def finish(self, run: int, outcome: str, health: Health, error: str | None = None) -> None:
        outcome = Outcome(outcome).value
        with self._writing() as conn:
            info = self._open_run(conn, run)
            failed, skipped = conn.execute(COUNT_FAILED_AND_SKIPPED, {"run": run}).one()
            planned = conn.execute(sa.select(runs.c.counts).where(runs.c.id == run)).scalar_one()
            now = time.time()
            conn.execute(runs.update().where(runs.c.id == run).values(
                finished=now, outcome=outcome, health=Health(health).value, error=error,
                counts=finish_counts(planned, failed or 0, skipped or 0)))
            cached = self._inventory_cache.get(info.app)
            if cached is not None and cached[0] is not None and cached[0][0] == run:
                self._cache_marker(info.app, (run, now))
            if not info.dry_run:
                state: dict[str, Any] = {"outcome": outcome, "health": Health(health).value}
                if marks_synced(outcome, info.dry_run):
                    state |= {"revision": info.revision, "synced_at": now}
                self._update_app_state(conn, info.app, state)
        self._open_runs.pop(run, None)

    def interrupt_running(self, app: str) -> int:
        update = (runs.update()
                  .where(runs.c.app == app, runs.c.outcome == Outcome.running.value)
                  .values(outcome=Outcome.interrupted.value, finished=time.time()))
        with self._writing() as conn:
            count: int = conn.execute(update).rowcount
        return count

    def history(self, app: str, limit: int = 50) -> list[Run]:
        query = (sa.select(*RUN_COLUMNS).where(runs.c.app == app)
                 .order_by(runs.c.id.desc()).limit(limit))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [run_from_row(row) for row in rows]

    def run(self, run: int) -> Run | None:
        query = sa.select(*RUN_COLUMNS).where(runs.c.id == run)
        with self._reading() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            recorded = conn.execute(sa.select(results).where(results.c.run_id == run)
                                    .order_by(results.c.seq)).all()
        return run_from_row(row, tuple(recorded_from_row(r) for r in recorded))

    def planned(self, run: int) -> list[tuple[Key, Action]]:
        """The changes run `run` set out to make (noops left out), in plan order;
        empty for an unknown run. After a crash this is what may be half done."""
        with self._reading() as conn:
            summary = conn.execute(sa.select(runs.c.plan).where(runs.c.id == run)).scalar()
        return plan_summary_from_json(summary or ())

    # -- backups ----------------------------------------------------------------

    def save_backup(self, target: str, claim: str, key: Key, data: bytes) -> None:
        """Keep `data` as what `claim` held before gitward; the first backup of a
        claim stays until dropped, so a retry never overwrites the original."""
        row = {"target": target, "claim": claim, "key": key_to_json(key), "data": data,
               "taken_at": time.time()}
        with self._writing() as conn:
            conn.execute(self._statements.keep_first_backup, row)

    def load_backup(self, target: str, claim: str) -> bytes | None:
        query = sa.select(backups.c.data).where(backups.c.target == target,
                                                backups.c.claim == claim)
        with self._reading() as conn:
            data: bytes | None = conn.execute(query).scalar()
        return None if data is None else bytes(data)

    def drop_backup(self, target: str, claim: str) -> None:
        with self._writing() as conn:
            conn.execute(backups.delete().where(backups.c.target == target,
                                                backups.c.claim == claim))

    # -- events -----------------------------------------------------------------

    def event(self, app: str | None, kind: str, message: str, *, revision: str | None = None,
              data: Mapping[str, Any] | None = None) -> None:
        row = {"at": time.time(), "app": app, "revision": revision, "kind": kind,
               "message": message, "data": None if data is None else dict(data)}
        with self._writing() as conn:
            conn.execute(INSERT_EVENT, row)

    def events(self, app: str | None = None, since: int = 0, limit: int = 100
               ) -> list[dict[str, Any]]:
        query = sa.select(events).where(events.c.id > since).order_by(events.c.id).limit(limit)
        if app is not None:
            query = query.where(events.c.app == app)
        with self._reading() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- app state --------------------------------------------------------------

    def app_state(self, app: str) -> AppState:
        with self._reading() as conn:
            row = conn.execute(sa.select(app_state).where(app_state.c.app == app)).first()
        return AppState(app) if row is None else AppState(**row._mapping)

    def apps(self) -> list[AppState]:
        with self._reading() as conn:
            rows = conn.execute(sa.select(app_state).order_by(app_state.c.app)).all()
        return [AppState(**row._mapping) for row in rows]

    def pin(self, app: str, revision: str | None, reason: str | None = None) -> None:
        with self._writing() as conn:
            self._update_app_state(conn, app, {"pinned": revision,
                                               "pin_reason": reason if revision else None})

    def note_synced(self, app: str, revision: str, tree_id: str | None) -> None:
        """Remember that `app` is in sync with `revision`, whose tree at the app's
        path is `tree_id`: while that tree stays the same the engine need not
        render the app again."""
        with self._writing() as conn:
            self._update_app_state(conn, app, {"revision": revision, "tree_id": tree_id})

    def set_suspended(self, app: str, value: bool) -> None:
        with self._writing() as conn:
            self._update_app_state(conn, app, {"suspended": bool(value)})

    def _update_app_state(self, conn: sa.Connection, app: str, values: dict[str, Any]) -> None:
        conn.execute(self._statements.touch_app, {"app": app})
        conn.execute(app_state.update().where(app_state.c.app == app).values(values))

    # -- users and API tokens -----------------------------------------------------

    def add_user(self, name: str, password_hash: str, role: str, apps: str = "*") -> None:
        row = {"name": name, "password_hash": password_hash, "role": role, "apps": apps,
               "created_at": time.time(), "disabled": False}
        try:
            with self._writing() as conn:
                conn.execute(users.insert(), row)
        except sa.exc.IntegrityError:
            raise UserExistsError(name) from None

    def user(self, name: str) -> dict[str, Any] | None:
        with self._reading() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else dict(row._mapping)

    def users(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        return [dict(row._mapping) for row in rows]

    def set_user(self, name: str, *, password_hash: str | None = None, role: str | None = None,
                 apps: str | None = None, disabled: bool | None = None) -> bool:
        """Change what is given; False if there is no such user."""
        given = {"password_hash": password_hash, "role": role, "apps": apps,
                 "disabled": disabled}
        values = {column: value for column, value in given.items() if value is not None}
        with self._writing() as conn:
            if not values:
                return conn.execute(sa.select(users.c.name).where(users.c.name == name)
                                    ).first() is not None
            changed: int = conn.execute(users.update().where(users.c.name == name)
                                        .values(values)).rowcount
        return changed > 0

    def add_token(self, name: str, token_hash: str, role: str, apps: str = "*", *,
                  user: str | None = None, expires_at: float | None = None) -> int:
        row = {"name": name, "user": user, "role": role, "apps": apps, "token_hash": token_hash,
               "created_at": time.time(), "expires_at": expires_at, "revoked_at": None,
               "last_used_at": None}
        with self._writing() as conn:
            token_id: int = conn.execute(api_tokens.insert().returning(api_tokens.c.id),
                                         row).scalar_one()
        return token_id

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        query = sa.select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        with self._reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else dict(row._mapping)

    def tokens(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.id)).all()
        return [dict(row._mapping) for row in rows]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; False if there is none of that id or it was revoked already."""
        update = (api_tokens.update()
                  .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                  .values(revoked_at=time.time()))
        with self._writing() as conn:
            changed: int = conn.execute(update).rowcount
        return changed > 0

    def touch_token(self, token_id: int) -> None:
        with self._writing() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                         .values(last_used_at=time.time()))

