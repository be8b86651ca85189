"""When and how a SQL store's schema is brought up to `HEAD_REVISION`.

A store whose ``alembic_version`` already holds `HEAD_REVISION` is used as
is, so an everyday command on SQLite imports neither Alembic nor SQLAlchemy.
A fresh or older database is upgraded by the Alembic revisions in
``migrations/versions``, on a SQLAlchemy connection the driver lends for it
(on SQLite, the store's own sqlite3 connection), in one transaction
(``BEGIN IMMEDIATE`` on SQLite): a second process opening the same fresh
store waits, then finds it built. `gitward.stores.sql_connection` calls
these when it opens a store.

A fresh SQLite store is built without them: `sqlite_schema.sql` holds the
statements Alembic's revisions leave in ``sqlite_master`` at `HEAD_REVISION`
(``python -m gitward.stores.sql_migrations`` writes it again; a test checks
that it still matches), run in the same ``BEGIN IMMEDIATE`` transaction, so
the first `gitward sync` on a machine does not pay ~0.4 s for loading
SQLAlchemy and Alembic.

The tables are described three times: by the revisions, by
`gitward.stores.schema` and by `sqlite_schema.sql` (tests check they agree).
Changing a table means adding a revision, bumping `HEAD_REVISION` here and
writing `sqlite_schema.sql` again.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from gitward.core.errors import StoreError
from gitward.stores.sql_driver import Driver

__all__ = ["HEAD_REVISION", "SQLITE_SCHEMA", "create_sqlite_schema", "dump_sqlite_schema",
           "schema_revision", "upgrade_schema"]

HEAD_REVISION = "0002"
"""The newest Alembic revision: a store at this revision needs no migration,
so opening it imports neither Alembic nor (on SQLite) SQLAlchemy."""

_MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_SCHEMA = Path(__file__).with_name("sqlite_schema.sql")


def schema_revision(db: Driver) -> str | None:
    """The Alembic revision the database is at; None for a fresh one."""
    if not db.has_table("alembic_version"):
        return None
    rows = db.execute("SELECT version_num FROM alembic_version")
    return rows[0]["version_num"] if rows else None


def create_sqlite_schema(db: Driver) -> bool:
    """Build a fresh SQLite store at `HEAD_REVISION` from `SQLITE_SCHEMA`; False if
    another process built it first. `db` must be in a write transaction."""
    if db.has_table("alembic_version"):
        return False
    for statement in SQLITE_SCHEMA.read_text().split(";\n"):
        if statement.strip():
            db.execute(statement)
    return True


def upgrade_schema(db: Driver, current: str | None, shown_url: str) -> None:
    """Run Alembic's ``upgrade head`` on the database of `db` (at `current`)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
    try:
        with db.alembic_connection() as conn, conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except CommandError as exc:
        raise StoreError(f"cannot migrate store {shown_url} from revision {current}: "
                         f"{exc}; was it written by a newer gitward?") from None
    except sa.exc.OperationalError as exc:
        # Locked, disk full, server gone: the environment, not the rights.
        raise StoreError(f"store {shown_url} failed: {db.reason(exc)}") from exc
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"cannot migrate store {shown_url}: {db.reason(exc)}; "
                         "gitward needs the right to create tables there") from None


def dump_sqlite_schema(path: Path) -> str:
    """The statements that build the SQLite database at `path` (built by Alembic),
    as `SQLITE_SCHEMA` holds them."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                          "ORDER BY rowid").fetchall()
        versions = db.execute("SELECT version_num FROM alembic_version").fetchall()
    statements = [sql for (sql,) in rows]
    statements += [f"INSERT INTO alembic_version (version_num) VALUES ('{v}')"
                   for (v,) in versions]
    return ";\n".join(statements) + ";\n"


if __name__ == "__main__":
    # Write sqlite_schema.sql again from the Alembic revisions (after adding one).
    import tempfile

    from gitward.stores.sql_connection import SqlConnection

    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / "store.db"
        with SqlConnection(f"sqlite:///{built}", use_bundled_schema=False):
            pass
        SQLITE_SCHEMA.write_text(dump_sqlite_schema(built))
    print(f"wrote {SQLITE_SCHEMA}")
