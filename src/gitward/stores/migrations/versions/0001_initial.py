"""The first schema: runs, results, inventory, backups, events, app_state.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the types in gitward.stores.schema as of this revision: a
# migration must keep building the same tables when the schema module moves on.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "runs",
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
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_app_id", "runs", ["app", "id"])
    op.create_index("ix_runs_app_outcome", "runs", ["app", "outcome"])

    op.create_table(
        "results",
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("skipped", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("duration", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_results"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_results_run_id_runs",
                                ondelete="CASCADE"),
    )

    op.create_table(
        "inventory",
        sa.Column("app", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("resource", _JSON, nullable=False),
        sa.Column("live", _JSON),
        sa.Column("revision", sa.String),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("app", "kind", "target", "name", name="pk_inventory"),
    )

    op.create_table(
        "backups",
        sa.Column("target", sa.String, nullable=False),
        sa.Column("claim", sa.String, nullable=False),
        sa.Column("key", _JSON, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("taken_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("target", "claim", name="pk_backups"),
    )

    op.create_table(
        "events",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("app", sa.String),
        sa.Column("revision", sa.String),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", _JSON),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_app_id", "events", ["app", "id"])

    op.create_table(
        "app_state",
        sa.Column("app", sa.String, nullable=False),
        sa.Column("pinned", sa.String),
        sa.Column("pin_reason", sa.Text),
        sa.Column("revision", sa.String),
        sa.Column("tree_id", sa.String),
        sa.Column("synced_at", sa.Double),
        sa.Column("outcome", sa.String),
        sa.Column("health", sa.String),
        sa.PrimaryKeyConstraint("app", name="pk_app_state"),
    )


def downgrade() -> None:
    for table in ("app_state", "events", "backups", "inventory", "results", "runs"):
        op.drop_table(table)
