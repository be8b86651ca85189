"""The SQL store's connection: opening it, bringing its schema up to date, transactions.

`SqlConnection` connects once and keeps that one connection; every call of
the store takes its lock and runs in its own short transaction (`_writing`,
`_reading`), so the engine's worker threads can report results concurrently
and a crash loses at most the result being written. On SQLite the connection
runs in WAL mode with ``synchronous=NORMAL``, waits up to 5 s for another
process's lock, and begins write transactions with ``BEGIN IMMEDIATE``
(`_tune_sqlite`). A store whose ``alembic_version`` already holds
`HEAD_REVISION` is used as is; Alembic is loaded only to upgrade a fresh or
older database. Driver errors become `StoreError` messages that show the URL
without its password. `gitward.stores.sql.SqlStore` builds on this class.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event

from gitward.core.errors import StoreError
from gitward.stores import redact_url
from gitward.stores.schema import HEAD_REVISION

__all__ = ["SqlConnection", "engine_url"]

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


class SqlConnection:
    """One connection to a SQLite or PostgreSQL store, its schema at `HEAD_REVISION`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._shown_url = redact_url(url)
        self._lock = threading.RLock()
        self._writes = 0
        self._engine = self._create_engine(engine_url(url))
        self._dialect = self._engine.dialect.name
        self._conn = self._connect()
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

    def __enter__(self) -> Self:
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
                # A rolled-back write may have touched what the store keeps in memory.
                self._forget_cached_reads()
                if not isinstance(exc, sa.exc.OperationalError):
                    raise
                # Locked, disk full, server gone: the environment, not a bug.
                raise StoreError(f"store {self._shown_url} failed: {self._reason(exc)}"
                                 ) from exc

    def _forget_cached_reads(self) -> None:
        """Drop what was read and kept in memory (after a rollback); nothing here."""


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

