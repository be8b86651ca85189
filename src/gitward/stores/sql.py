"""The SQL store: SQLite for one agent, PostgreSQL for many, one code path.

Opening a store connects once and keeps that one connection; every call takes
the store's lock and runs in its own short transaction, so the engine's worker
threads can report results concurrently and a crash loses at most the result
being written. On SQLite the connection runs in WAL mode with
``synchronous=NORMAL`` (a commit is a write to the log, not an fsync), waits
up to 5 s for another process's lock, and begins write transactions with
``BEGIN IMMEDIATE`` so that two processes never deadlock upgrading a read lock.

The schema is Alembic's: a store whose ``alembic_version`` already holds
`HEAD_REVISION` is used as is, and Alembic (a third of a second to import) is
loaded only when a fresh or older database needs ``upgrade head``.

Usually reached through `gitward.stores.open_store(url)`; ``postgresql://``
URLs use psycopg 3, and every message shows the URL without its password.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from gitward.core.errors import StoreError
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
from gitward.stores import redact_url
from gitward.stores.accounts import UserExistsError
from gitward.stores.codec import (
    diff_items_from_json,
    key_to_json,
    plan_summary_from_json,
    plan_summary_to_json,
    resource_from_json,
    resource_to_json,
    result_fields_to_json,
)
from gitward.stores.rules import Remove, Upsert, finish_counts, inventory_effect, marks_synced
from gitward.stores.schema import (
    HEAD_REVISION,
    api_tokens,
    app_state,
    backups,
    events,
    inventory,
    results,
    runs,
    users,
)

__all__ = ["SqlStore", "engine_url"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def engine_url(url: str) -> sa.URL:
    """The SQLAlchemy URL for a store URL: plain ``postgresql://`` (or
    ``postgres://``) means psycopg 3. Raises `StoreError` if it is no URL."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"{redact_url(url)} is not a store URL; use sqlite:///path/to/gitward.db"
                         " or postgresql://user@host/database") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@dataclass(slots=True)
class _OpenRun:
    """What `result` needs to know of a run, kept in memory while it runs."""

    app: str
    revision: str
    dry_run: bool
    next_seq: int


class SqlStore:
    """A `gitward.core.seams.Store` on SQLite or PostgreSQL (see the module doc).

    Also a `gitward.core.seams.AuthStore` (users, API tokens, suspensions).
    Beyond the Protocols: `note_synced` (remember the tree an app was synced
    at), `planned` (what a run set out to change) and use as a context manager.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._shown_url = redact_url(url)
        self._lock = threading.RLock()
        self._open_runs: dict[int, _OpenRun] = {}
        self._writes = 0
        self._inventory_cache: dict[str, tuple[Any, dict[Key, Resource],
                                               dict[Key, Resource]]] = {}
        self._engine = self._create_engine(engine_url(url))
        self._dialect = self._engine.dialect.name
        self._conn = self._connect()
        self._statements = _Statements(self._dialect)
        try:
            self._migrate_if_needed()
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------

    def _create_engine(self, url: sa.URL) -> sa.Engine:
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(f"{self._shown_url}: gitward stores run on SQLite or PostgreSQL, "
                             f"not {backend}")
        if backend == "sqlite":
            self._check_sqlite_directory(url)
            connect_args: dict[str, Any] = {"check_same_thread": False}
        else:
            connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
        try:
            engine = sa.create_engine(
                url, poolclass=sa.NullPool, connect_args=connect_args,
                json_serializer=functools.partial(json.dumps, separators=(",", ":")))
        except (ModuleNotFoundError, sa.exc.NoSuchModuleError):
            raise StoreError(f"{self._shown_url}: no driver {url.drivername}; use sqlite:/// or "
                             "postgresql:// (psycopg 3: install gitward[postgres])") from None
        if backend == "sqlite":
            _tune_sqlite(engine)
        return engine

    def _check_sqlite_directory(self, url: sa.URL) -> None:
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            directory = Path(database).parent
            if not directory.is_dir():
                raise StoreError(f"cannot open store {self._shown_url}: directory {directory} "
                                 "does not exist; create it or choose another path")

    def _connect(self) -> sa.Connection:
        try:
            return self._engine.connect()
        except sa.exc.DBAPIError as exc:
            self._engine.dispose()
            hint = ("is it a gitward store?" if self._engine.dialect.name == "sqlite"
                    else "check that the database is reachable and the URL is right")
            raise StoreError(f"cannot open store {self._shown_url}: {self._reason(exc)}; {hint}"
                             ) from None

    def _reason(self, exc: sa.exc.DBAPIError) -> str:
        """The driver's message on one line, never with the password in it."""
        lines = (line.strip() for line in str(exc.orig).splitlines())
        # PostgreSQL quotes the failing SQL ("LINE 2: CREATE ...", "^"): noise here.
        text = "; ".join(line for line in lines
                         if line and not line.startswith("LINE ") and line != "^")
        password = self._engine.url.password
        return text.replace(str(password), "***") if password else text

    def _migrate_if_needed(self) -> None:
        current = self._schema_revision()
        if current == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
        config.attributes["connection"] = self._conn
        try:
            with self._writing():
                command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(f"cannot migrate store {self._shown_url} from revision {current}: "
                             f"{exc}; was it written by a newer gitward?") from None
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"cannot migrate store {self._shown_url}: {self._reason(exc)}; "
                             "gitward needs the right to create tables there") from None

    def _schema_revision(self) -> str | None:
        exists = ("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                  "AND name = 'alembic_version'" if self._dialect == "sqlite"
                  else "SELECT count(*) FROM (SELECT to_regclass('alembic_version') AS t) AS r "
                       "WHERE t IS NOT NULL")
        with self._reading() as conn:
            if not conn.exec_driver_sql(exists).scalar():
                return None
            version: str | None = conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version").scalar()
            return version

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            self._writes += 1
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextmanager
    def _transaction(self, sqlite_begin: str) -> Iterator[sa.Connection]:
        with self._lock:
            self._conn.info["begin"] = sqlite_begin
            try:
                with self._conn.begin():
                    yield self._conn
            except BaseException as exc:
                # A rolled-back write may have touched the inventory cache already.
                self._inventory_cache.clear()
                if not isinstance(exc, sa.exc.OperationalError):
                    raise
                # Locked, disk full, server gone: the environment, not a bug.
                raise StoreError(f"store {self._shown_url} failed: {self._reason(exc)}"
                                 ) from exc

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
            res = resource_from_json(_json_value(resource_text))
            applied[res.key] = res
            if live_text is not None and live_text != "null":
                seen = resource_from_json(_json_value(live_text))
                live[seen.key] = seen
        self._inventory_cache[app] = (marker, applied, live)
        return applied, live

    def remember(self, app: str, entries: Collection[tuple[Resource, Resource | None]]) -> None:
        rows = [_inventory_row(app, desired, live, None, time.time())
                for desired, live in entries]
        if rows:
            with self._writing() as conn:
                conn.execute(self._statements.refresh_inventory, rows)
                for row in rows:
                    self._cache_upsert(app, row)

    def forget(self, app: str, keys: Collection[Key]) -> None:
        rows = [{"b_app": app, **_key_row(key)} for key in keys]
        if rows:
            with self._writing() as conn:
                conn.execute(_DELETE_INVENTORY, rows)
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
            conn.execute(_INSERT_RESULT, _result_row(run, info.next_seq, result))
            if not info.dry_run:
                self._apply_to_inventory(conn, info, result)
            info.next_seq += 1

    def _apply_to_inventory(self, conn: sa.Connection, info: _OpenRun, result: Result) -> None:
        effect = inventory_effect(result)
        if isinstance(effect, Upsert):
            revision = info.revision if effect.applied else None
            row = _inventory_row(info.app, effect.desired, effect.live, revision, time.time())
            statement = (self._statements.apply_inventory if effect.applied
                         else self._statements.refresh_inventory)
            conn.execute(statement, row)
            self._cache_upsert(info.app, row)
        elif isinstance(effect, Remove):
            conn.execute(_DELETE_INVENTORY, {"b_app": info.app, **_key_row(effect.key)})
            self._cache_remove(info.app, effect.key)

    def _cache_upsert(self, app: str, row: dict[str, Any]) -> None:
        cached = self._inventory_cache.get(app)
        if cached is None:
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
            failed, skipped = conn.execute(_COUNT_FAILED_AND_SKIPPED, {"run": run}).one()
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
        query = (sa.select(*_RUN_COLUMNS).where(runs.c.app == app)
                 .order_by(runs.c.id.desc()).limit(limit))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [_run_from_row(row) for row in rows]

    def run(self, run: int) -> Run | None:
        query = sa.select(*_RUN_COLUMNS).where(runs.c.id == run)
        with self._reading() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            recorded = conn.execute(sa.select(results).where(results.c.run_id == run)
                                    .order_by(results.c.seq)).all()
        return _run_from_row(row, tuple(_recorded_from_row(r) for r in recorded))

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
            conn.execute(_INSERT_EVENT, row)

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


# -- statements and rows --------------------------------------------------------

class _Statements:
    """The upserts, written once in the dialect's ``INSERT ... ON CONFLICT``."""

    def __init__(self, dialect: str) -> None:
        insert = _dialect_insert(dialect)
        refresh = insert(inventory)
        self.refresh_inventory = refresh.on_conflict_do_update(
            index_elements=list(inventory.primary_key),
            set_={"resource": refresh.excluded.resource, "live": refresh.excluded.live,
                  "updated_at": refresh.excluded.updated_at})
        apply = insert(inventory)
        self.apply_inventory = apply.on_conflict_do_update(
            index_elements=list(inventory.primary_key),
            set_={"resource": apply.excluded.resource, "live": apply.excluded.live,
                  "revision": apply.excluded.revision,
                  "updated_at": apply.excluded.updated_at})
        self.touch_app = insert(app_state).on_conflict_do_nothing(index_elements=["app"])
        self.keep_first_backup = insert(backups).on_conflict_do_nothing(
            index_elements=["target", "claim"])


def _dialect_insert(dialect: str) -> Callable[[sa.Table], Any]:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert


# Built once: SQLAlchemy caches compiled statements by their structure, and
# building an identical statement per call is most of a result's write cost.
_INSERT_RESULT = results.insert()
_INSERT_EVENT = events.insert()
_DELETE_INVENTORY = inventory.delete().where(
    inventory.c.app == sa.bindparam("b_app"), inventory.c.kind == sa.bindparam("b_kind"),
    inventory.c.target == sa.bindparam("b_target"), inventory.c.name == sa.bindparam("b_name"))

_COUNT_FAILED_AND_SKIPPED = sa.select(
    sa.func.sum(sa.case((sa.and_(~results.c.ok, ~results.c.skipped), 1), else_=0)),
    sa.func.sum(sa.case((results.c.skipped, 1), else_=0)),
).where(results.c.run_id == sa.bindparam("run"))

_RUN_COLUMNS = (runs.c.id, runs.c.app, runs.c.revision, runs.c.trigger, runs.c.started,
                runs.c.finished, runs.c.outcome, runs.c.health, runs.c.counts, runs.c.subject,
                runs.c.error, runs.c.dry_run)


if TYPE_CHECKING:  # SQLAlchemy 2.1 types rows by their columns; ours are read by name
    _AnyRow = sa.Row[*tuple[Any, ...]]


def _key_row(key: Key) -> dict[str, str]:
    return {"b_kind": key.kind, "b_target": key.target, "b_name": key.name}


def _inventory_row(app: str, desired: Resource, live: Resource | None, revision: str | None,
                   now: float) -> dict[str, Any]:
    return {"app": app, "kind": desired.key.kind, "target": desired.key.target,
            "name": desired.key.name, "resource": resource_to_json(desired),
            "live": None if live is None else resource_to_json(live, desired.sensitive),
            "revision": revision, "updated_at": now}


def _result_row(run: int, seq: int, result: Result) -> dict[str, Any]:
    change = result.change
    return {"run_id": run, "seq": seq, "kind": change.key.kind, "target": change.key.target,
            "name": change.key.name, "action": change.action.value, "ok": result.ok,
            "skipped": result.skipped, "error": result.error,
            "fields": result_fields_to_json(result),
            "duration": result.duration}


def _run_from_row(row: _AnyRow, recorded: tuple[RecordedResult, ...] = ()) -> Run:
    return Run(id=row.id, app=row.app, revision=row.revision, trigger=row.trigger,
               started=row.started, finished=row.finished, outcome=Outcome(row.outcome),
               health=None if row.health is None else Health(row.health), counts=row.counts,
               subject=row.subject, error=row.error, dry_run=row.dry_run, results=recorded)


def _recorded_from_row(row: _AnyRow) -> RecordedResult:
    return RecordedResult(key=Key(row.kind, row.target, row.name), action=Action(row.action),
                          ok=row.ok, error=row.error, fields=diff_items_from_json(row.fields),
                          duration=row.duration, skipped=row.skipped)


def _tune_sqlite(engine: sa.Engine) -> None:
    """WAL, cheap commits, a 5 s wait for locks, foreign keys; and our own BEGIN,
    because the sqlite3 module's implicit one neither covers DDL nor can be
    IMMEDIATE (recipe from SQLAlchemy's SQLite dialect docs)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000",
                       "foreign_keys=ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(connection.info.get("begin", "BEGIN"))


def _json_value(raw: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded (PostgreSQL jsonb)."""
    return json.loads(raw) if isinstance(raw, str | bytes) else raw
