"""When and how a SQL store's schema is brought up to `HEAD_REVISION`.

A store whose ``alembic_version`` already holds `HEAD_REVISION` is used as
is, so an everyday command on SQLite imports neither Alembic nor SQLAlchemy.
A fresh or older database is upgraded by the Alembic revisions in
``migrations/versions``, on a SQLAlchemy connection the driver lends for it
(on SQLite, the store's own sqlite3 connection), in one transaction
(``BEGIN IMMEDIATE`` on SQLite): a second process opening the same fresh
store waits, then finds it built. `gitward.stores.sql_connection` calls
these when it opens a store.

The tables are described twice: by the revisions and by
`gitward.stores.schema` (a test checks they agree). Changing a table means
adding a revision and bumping `HEAD_REVISION` here.
"""

from __future__ import annotations

from pathlib import Path

from gitward.core.errors import StoreError
from gitward.stores.sql_driver import Driver

__all__ = ["HEAD_REVISION", "schema_revision", "upgrade_schema"]

HEAD_REVISION = "0002"
"""The newest Alembic revision: a store at this revision needs no migration,
so opening it imports neither Alembic nor (on SQLite) SQLAlchemy."""

_MIGRATIONS = Path(__file__).with_name("migrations")


def schema_revision(db: Driver) -> str | None:
    """The Alembic revision the database is at; None for a fresh one."""
    if not db.has_table("alembic_version"):
        return None
    rows = db.execute("SELECT version_num FROM alembic_version")
    return rows[0]["version_num"] if rows else None


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
