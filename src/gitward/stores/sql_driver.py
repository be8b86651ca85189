"""How the SQL store talks to its database: one narrow seam, two drivers.

`gitward.stores.sql.SqlStore` writes each statement once, as SQL text with
``:name`` parameters (`gitward.stores.sql_statements`), and runs it through a
`Driver`: execute one statement and get its rows (read by column name),
execute one for many parameter sets, begin, commit, roll back, close.

- `SqliteDriver` is the standard library's sqlite3 module, so a command on the
  default store starts without importing SQLAlchemy (~170 ms, more than a
  no-op sync may take). Its connection runs in WAL mode with
  ``synchronous=NORMAL``, waits up to 5 s for another process's lock, enforces
  foreign keys, and begins its own transactions (``BEGIN IMMEDIATE`` for
  writes), because the module's implicit ones neither cover DDL nor can be
  IMMEDIATE.
- `PostgresDriver` is a SQLAlchemy connection (psycopg 3, no pool), which
  also turns the ``:name`` parameters into psycopg's.

When the schema needs migrating, both lend Alembic a SQLAlchemy connection on
the same database (`Driver.alembic_connection`, used by
`gitward.stores.sql_migrations`). `open_driver` picks one by URL and turns a
failure to open into a `StoreError` that shows the URL without its password.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode

from gitward.core.errors import StoreError
from gitward.stores import redact_url

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["Driver", "PostgresDriver", "Row", "SqliteDriver", "engine_url", "open_driver"]

_NOT_A_STORE_URL = ("{} is not a store URL; use sqlite:///path/to/gitward.db"
                    " or postgresql://user@host/database")
_NO_DRIVER = ("{}: no driver {}; use sqlite:/// or postgresql:// "
              "(psycopg 3: install gitward[postgres])")
_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000",
                   "foreign_keys=ON")


class Row(Protocol):
    """One row of a result, read by column name (`sqlite3.Row`, SQLAlchemy's
    `RowMapping`); ``dict(row)`` gives all of it."""

    def __getitem__(self, column: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Driver(Protocol):
    """One open connection to a store's database, used under one lock."""

    environment_errors: tuple[type[Exception], ...]
    """Errors of the environment (locked, disk full, server gone), not of gitward."""
    duplicate_errors: tuple[type[Exception], ...]
    """A row whose unique key is taken already."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run one statement; its rows (none for one that returns none)."""
        ...

    def execute_many(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None: ...

    def begin(self, write: bool) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def has_table(self, name: str) -> bool: ...

    def reason(self, exc: BaseException) -> str:
        """The database's message for `exc` on one line, never with a password."""
        ...

    def alembic_connection(self) -> AbstractContextManager[sa.Connection]:
        """A SQLAlchemy connection on this database, for Alembic's migrations;
        a transaction begun on it is ``BEGIN IMMEDIATE`` on SQLite."""
        ...


def open_driver(url: str, shown_url: str) -> Driver:
    """Connect to the store at `url` (shown in messages as `shown_url`)."""
    scheme, separator, _ = url.partition("://")
    backend, _, driver = scheme.lower().partition("+")
    if not separator or not backend:
        raise StoreError(_NOT_A_STORE_URL.format(shown_url))
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise StoreError(_NO_DRIVER.format(shown_url, scheme))
        return SqliteDriver.open(url, shown_url)
    if backend in ("postgresql", "postgres"):
        return PostgresDriver.open(url, shown_url)
    raise StoreError(f"{shown_url}: gitward stores run on SQLite or PostgreSQL, not {backend}")


def engine_url(url: str) -> sa.URL:
    """The SQLAlchemy URL for a store URL: plain ``postgresql://`` (or
    ``postgres://``) means psycopg 3. Raises `StoreError` if it is no URL."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(_NOT_A_STORE_URL.format(redact_url(url))) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class SqliteDriver:
    """A store in a SQLite file, through the standard library's sqlite3 module."""

    environment_errors: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
    duplicate_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, url: str, shown_url: str) -> SqliteDriver:
        database, uri = _sqlite_database(url, shown_url)
        if not uri and database != ":memory:":
            directory = Path(database).parent
            if not directory.is_dir():
                raise StoreError(f"cannot open store {shown_url}: directory {directory} "
                                 "does not exist; create it or choose another path")
        try:
            # Our own BEGINs (isolation_level=None); one connection shared by
            # threads under SqlConnection's lock.
            connection = sqlite3.connect(database, uri=uri, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {shown_url}: {_one_line(exc)}") from None
        connection.row_factory = sqlite3.Row
        try:
            for pragma in _SQLITE_PRAGMAS:  # the first read of the file: "not a database"
                connection.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            connection.close()
            raise StoreError(f"cannot open store {shown_url}: {_one_line(exc)}; "
                             "is it a gitward store?") from None
        return cls(connection)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        rows: list[Row] = self._connection.execute(sql, params or {}).fetchall()
        return rows

    def execute_many(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        self._connection.executemany(sql, params)

    def begin(self, write: bool) -> None:
        # IMMEDIATE takes the write lock up front: a write transaction that
        # started as a read could not upgrade without risking SQLITE_BUSY.
        self._connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()  # nothing to do if SQLite rolled back already

    def close(self) -> None:
        self._connection.close()

    def has_table(self, name: str) -> bool:
        found = self.execute("SELECT count(*) AS n FROM sqlite_master "
                             "WHERE type = 'table' AND name = :name", {"name": name})
        return bool(found[0]["n"])

    def reason(self, exc: BaseException) -> str:
        return _one_line(exc)

    @contextmanager
    def alembic_connection(self) -> Iterator[sa.Connection]:
        import sqlalchemy as sa

        # SQLAlchemy on this very sqlite3 connection (so sqlite:// in memory
        # migrates too), left open when the engine goes.
        engine = sa.create_engine("sqlite://", creator=lambda: self._connection,
                                  poolclass=sa.StaticPool)
        sa.event.listen(engine, "begin",
                        lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose(close=False)


class PostgresDriver:
    """A store in PostgreSQL, through one SQLAlchemy connection (psycopg 3)."""

    def __init__(self, engine: sa.Engine, connection: sa.Connection) -> None:
        import sqlalchemy as sa

        self.environment_errors: tuple[type[Exception], ...] = (sa.exc.OperationalError,)
        self.duplicate_errors: tuple[type[Exception], ...] = (sa.exc.IntegrityError,)
        self._engine = engine
        self._connection = connection
        # One TextClause per statement, so SQLAlchemy compiles each only once.
        self._clauses: dict[str, sa.TextClause] = {}

    @classmethod
    def open(cls, url: str, shown_url: str) -> PostgresDriver:
        import sqlalchemy as sa

        parsed = engine_url(url)
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
        try:
            engine = sa.create_engine(parsed, poolclass=sa.NullPool, connect_args=connect_args)
        except (ModuleNotFoundError, sa.exc.NoSuchModuleError):
            raise StoreError(_NO_DRIVER.format(shown_url, parsed.drivername)) from None
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise StoreError(f"cannot open store {shown_url}: "
                             f"{_one_line(exc, parsed.password)}; check that the database "
                             "is reachable and the URL is right") from None
        return cls(engine, connection)

    def _clause(self, sql: str) -> sa.TextClause:
        clause = self._clauses.get(sql)
        if clause is None:
            import sqlalchemy as sa

            clause = self._clauses[sql] = sa.text(sql)
        return clause

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        result = self._connection.execute(self._clause(sql), dict(params or {}))
        rows: list[Row] = list(result.mappings()) if result.returns_rows else []
        return rows

    def execute_many(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        self._connection.execute(self._clause(sql), [dict(row) for row in params])

    def begin(self, write: bool) -> None:
        self._connection.begin()  # row locks: no need to lock ahead for writes

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()

    def has_table(self, name: str) -> bool:
        found = self.execute("SELECT to_regclass(:name) IS NOT NULL AS found", {"name": name})
        return bool(found[0]["found"])

    def reason(self, exc: BaseException) -> str:
        return _one_line(exc, self._engine.url.password)

    @contextmanager
    def alembic_connection(self) -> Iterator[sa.Connection]:
        yield self._connection


def _sqlite_database(url: str, shown_url: str) -> tuple[str, bool]:
    """sqlite3.connect's database and uri for a URL in SQLAlchemy's form:
    ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite://`` (in
    memory), ``sqlite:///file:/path.db?mode=ro&uri=true`` (a SQLite URI)."""
    path, _, query = url.partition("://")[2].partition("?")
    if path and not path.startswith("/"):  # a host, user or port: not a file
        raise StoreError(_NOT_A_STORE_URL.format(shown_url))
    database = unquote(path[1:]) or ":memory:"
    options = dict(parse_qsl(query, keep_blank_values=True))
    uri = options.pop("uri", "false").lower() in ("true", "1", "yes", "on")
    if options and not uri:
        raise StoreError(f"{shown_url}: SQLite options need uri=true, e.g. "
                         "sqlite:///file:/path/to/gitward.db?mode=ro&uri=true")
    return (f"{database}?{urlencode(options)}" if options else database), uri


def _one_line(exc: BaseException, password: str | None = None) -> str:
    """The driver's message (SQLAlchemy's wrapped one too) on one line, never
    with the password in it."""
    lines = (line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines())
    # PostgreSQL quotes the failing SQL ("LINE 2: CREATE ...", "^"): noise here.
    text = "; ".join(line for line in lines
                     if line and not line.startswith("LINE ") and line != "^")
    return text.replace(password, "***") if password else text
