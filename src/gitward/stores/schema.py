"""The store's tables, as SQLAlchemy Core sees them (SQLite and PostgreSQL alike).

- ``runs``: one row per sync of one app at one revision, written *before* the
  first action (outcome ``running``), closed by `finish`; ``plan`` lists the
  changes the run set out to make, ``counts`` the planned actions and, once
  finished, how many failed or were skipped.
- ``results``: the journal of a run, one row per resource in the order the
  results arrived (``seq``); removed with their run.
- ``inventory``: per app, every resource gitward applied and still manages:
  the resource as applied (``resource``) and as read back (``live``), and the
  revision that last changed it. Prunes start here.
- ``backups``: what a target held before gitward first took it over, one per
  claim (e.g. ``fs:/etc/motd``), so a prune can put it back.
- ``events``: an append-only log (``id`` only grows, so readers poll with
  ``id > last seen``).
- ``app_state``: per app, its pin, whether it is suspended and what it last
  synced.
- ``users``: who may log in to the web face: a scrypt hash of the password
  (never the password), a role and the apps (name patterns) it covers.
- ``api_tokens``: tokens for scripts, kept as the SHA-256 of the token (the
  token itself is shown once, when created), with expiry and revocation.

Times are UTC epoch seconds (``time.time()``). JSON columns hold what
`gitward.stores.codec` writes; sensitive values never reach them.

These definitions are Alembic's picture of the tables: ``alembic revision
--autogenerate`` compares with them, and a test checks that the revisions in
``migrations/versions``, which build the database, agree with them. The
store's own statements are SQL text (`gitward.stores.sql_statements`) and
never import this module. Changing a table here means adding a revision there
and bumping `HEAD_REVISION` (kept in `gitward.stores.sql_migrations`,
re-exported here).
"""

from __future__ import annotations

import sqlalchemy as sa

from gitward.stores.sql_migrations import HEAD_REVISION

__all__ = ["HEAD_REVISION", "api_tokens", "app_state", "backups", "events", "inventory",
           "metadata", "results", "runs", "users"]

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only turns an INTEGER PRIMARY KEY into an auto-incrementing row id.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String, nullable=False),
    sa.Column("revision", sa.String, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("trigger", sa.String, nullable=False),
    sa.Column("started", sa.Double, nullable=False),
    sa.Column("finished", sa.Double),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("health", sa.String),
    sa.Column("error", sa.Text),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("counts", _JSON, nullable=False),
    sa.Column("plan", _JSON, nullable=False),
    sa.Index(None, "app", "id"),        # history: newest runs of one app
    sa.Index(None, "app", "outcome"),   # interrupt_running: this app's running runs
)

results = sa.Table(
    "results", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("skipped", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("fields", _JSON, nullable=False),
    sa.Column("duration", sa.Double, nullable=False),
)

inventory = sa.Table(
    "inventory", metadata,
    sa.Column("app", sa.String, primary_key=True),
    sa.Column("kind", sa.String, primary_key=True),
    sa.Column("target", sa.String, primary_key=True),
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("resource", _JSON, nullable=False),
    sa.Column("live", _JSON),
    sa.Column("revision", sa.String),
    sa.Column("updated_at", sa.Double, nullable=False),
)

backups = sa.Table(
    "backups", metadata,
    sa.Column("target", sa.String, primary_key=True),
    sa.Column("claim", sa.String, primary_key=True),
    sa.Column("key", _JSON, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("taken_at", sa.Double, nullable=False),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("app", sa.String),
    sa.Column("revision", sa.String),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", _JSON),
    sa.Index(None, "app", "id"),        # events --app X --follow
)

app_state = sa.Table(
    "app_state", metadata,
    sa.Column("app", sa.String, primary_key=True),
    sa.Column("pinned", sa.String),
    sa.Column("pin_reason", sa.Text),
    sa.Column("revision", sa.String),
    sa.Column("tree_id", sa.String),
    sa.Column("synced_at", sa.Double),
    sa.Column("outcome", sa.String),
    sa.Column("health", sa.String),
    sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()),
)

users = sa.Table(
    "users", metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("apps", sa.String, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("user", sa.String),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("apps", sa.String, nullable=False),
    sa.Column("token_hash", sa.String, nullable=False, unique=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double),
    sa.Column("revoked_at", sa.Double),
    sa.Column("last_used_at", sa.Double),
)
