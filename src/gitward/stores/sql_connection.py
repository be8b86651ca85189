"""The SQL store's connection: opening it, bringing its schema up to date, transactions.

`SqlConnection` connects once, through the `gitward.stores.sql_driver` the
URL calls for (the stdlib sqlite3 module for SQLite, SQLAlchemy for
PostgreSQL), and keeps that one connection; every call of the store takes
its lock and runs in its own short transaction (`_writing`, `_reading`), so
the engine's worker threads can report results concurrently and a crash
loses at most the result being written. A database not yet at
`HEAD_REVISION` is migrated on opening (`gitward.stores.sql_migrations`,
which alone loads Alembic and, on SQLite, SQLAlchemy). Errors of the
environment (locked, disk full, server gone) become `StoreError` messages
that show the URL without its password. `gitward.stores.sql.SqlStore`
builds on this class.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from gitward.core.errors import StoreError
from gitward.stores import redact_url
from gitward.stores.sql_driver import Driver, SqliteDriver, engine_url, open_driver
from gitward.stores.sql_migrations import (
    HEAD_REVISION,
    create_sqlite_schema,
    schema_revision,
    upgrade_schema,
)

__all__ = ["SqlConnection", "engine_url"]


class SqlConnection:
    """One connection to a SQLite or PostgreSQL store, its schema at `HEAD_REVISION`."""

    def __init__(self, url: str, *, use_bundled_schema: bool = True) -> None:
        self.url = url
        self._shown_url = redact_url(url)
        self._lock = threading.RLock()
        self._db = open_driver(url, self._shown_url)
        try:
            with self._reading() as db:
                current = schema_revision(db)
            if current is None and use_bundled_schema and isinstance(self._db, SqliteDriver):
                with self._writing() as db:
                    create_sqlite_schema(db)
            elif current != HEAD_REVISION:
                upgrade_schema(self._db, current, self._shown_url)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Driver]:
        with self._transaction(write=True) as db:
            yield db

    @contextmanager
    def _reading(self) -> Iterator[Driver]:
        with self._transaction(write=False) as db:
            yield db

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Driver]:
        db = self._db
        with self._lock:
            try:
                db.begin(write)
                yield db
                db.commit()
            except BaseException as exc:
                # A rolled-back write may have touched what the store keeps in memory.
                self._forget_cached_reads()
                with contextlib.suppress(*db.environment_errors):
                    db.rollback()  # a connection that is gone has nothing to roll back
                if not isinstance(exc, db.environment_errors):
                    raise
                # Locked, disk full, server gone: the environment, not a bug.
                raise StoreError(f"store {self._shown_url} failed: {db.reason(exc)}"
                                 ) from exc

    def _forget_cached_reads(self) -> None:
        """Drop what was read and kept in memory (after a rollback); nothing here."""
