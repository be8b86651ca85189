"""Alembic's entry point for gitward's store migrations.

`gitward.stores.sql_migrations` runs ``alembic upgrade head`` programmatically on the
store's own connection (passed in ``config.attributes["connection"]``), inside
its transaction, only when the store is not already at the head revision.

For developers, the same scripts work from the command line; the database is
``sqlalchemy.url`` if set, else ``$GITWARD_STORE`` or the default store::

    alembic -c src/gitward/stores/alembic.ini revision -m "add a column"
    GITWARD_STORE=sqlite:////tmp/dev.db alembic -c src/gitward/stores/alembic.ini upgrade head
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from gitward.stores.schema import metadata


def _run_on(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _run_from_command_line() -> None:
    from gitward.stores import default_store_url
    from gitward.stores.sql import engine_url

    url = context.config.get_main_option("sqlalchemy.url") or default_store_url()
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("gitward's migrations run online only; drop --sql")
given = context.config.attributes.get("connection")
if given is not None:
    _run_on(given)
else:
    _run_from_command_line()
