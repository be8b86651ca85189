"""The SQL store's statements and rows: what `gitward.stores.sql.SqlStore` sends and reads.

The upserts are written once per dialect (`Statements`, SQLite's or
PostgreSQL's ``INSERT ... ON CONFLICT``); the statements a run repeats for
every result are built once at import, because SQLAlchemy caches compiled
statements by their structure and building an identical one per call is most
of a result's write cost. The row functions turn the model's records into
table rows and back (JSON columns through `gitward.stores.codec`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gitward.core.model import Action, Health, Key, Outcome, RecordedResult, Resource, Result, Run
from gitward.stores.codec import (
    diff_items_from_json,
    resource_to_json,
    result_fields_to_json,
)
from gitward.stores.schema import app_state, backups, events, inventory, results, runs

__all__ = [
    "COUNT_FAILED_AND_SKIPPED", "DELETE_INVENTORY", "INSERT_EVENT", "INSERT_RESULT",
    "RUN_COLUMNS", "Statements", "inventory_row", "json_value", "key_row", "recorded_from_row",
    "result_row", "run_from_row",
]


class Statements:
    """The upserts, written once in the dialect's ``INSERT ... ON CONFLICT``."""

    def __init__(self, dialect: str) -> None:
        insert = dialect_insert(dialect)
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


def dialect_insert(dialect: str) -> Callable[[sa.Table], Any]:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert


# Built once: SQLAlchemy caches compiled statements by their structure, and
# building an identical statement per call is most of a result's write cost.
INSERT_RESULT = results.insert()
INSERT_EVENT = events.insert()
DELETE_INVENTORY = inventory.delete().where(
    inventory.c.app == sa.bindparam("b_app"), inventory.c.kind == sa.bindparam("b_kind"),
    inventory.c.target == sa.bindparam("b_target"), inventory.c.name == sa.bindparam("b_name"))

COUNT_FAILED_AND_SKIPPED = sa.select(
    sa.func.sum(sa.case((sa.and_(~results.c.ok, ~results.c.skipped), 1), else_=0)),
    sa.func.sum(sa.case((results.c.skipped, 1), else_=0)),
).where(results.c.run_id == sa.bindparam("run"))

RUN_COLUMNS = (runs.c.id, runs.c.app, runs.c.revision, runs.c.trigger, runs.c.started,
                runs.c.finished, runs.c.outcome, runs.c.health, runs.c.counts, runs.c.subject,
                runs.c.error, runs.c.dry_run)


if TYPE_CHECKING:  # SQLAlchemy 2.1 types rows by their columns; ours are read by name
    _AnyRow = sa.Row[*tuple[Any, ...]]


def key_row(key: Key) -> dict[str, str]:
    return {"b_kind": key.kind, "b_target": key.target, "b_name": key.name}


def inventory_row(app: str, desired: Resource, live: Resource | None, revision: str | None,
                   now: float) -> dict[str, Any]:
    return {"app": app, "kind": desired.key.kind, "target": desired.key.target,
            "name": desired.key.name, "resource": resource_to_json(desired),
            "live": None if live is None else resource_to_json(live, desired.sensitive),
            "revision": revision, "updated_at": now}


def result_row(run: int, seq: int, result: Result) -> dict[str, Any]:
    change = result.change
    return {"run_id": run, "seq": seq, "kind": change.key.kind, "target": change.key.target,
            "name": change.key.name, "action": change.action.value, "ok": result.ok,
            "skipped": result.skipped, "error": result.error,
            "fields": result_fields_to_json(result),
            "duration": result.duration}


def run_from_row(row: _AnyRow, recorded: tuple[RecordedResult, ...] = ()) -> Run:
    return Run(id=row.id, app=row.app, revision=row.revision, trigger=row.trigger,
               started=row.started, finished=row.finished, outcome=Outcome(row.outcome),
               health=None if row.health is None else Health(row.health), counts=row.counts,
               subject=row.subject, error=row.error, dry_run=row.dry_run, results=recorded)


def recorded_from_row(row: _AnyRow) -> RecordedResult:
    return RecordedResult(key=Key(row.kind, row.target, row.name), action=Action(row.action),
                          ok=row.ok, error=row.error, fields=diff_items_from_json(row.fields),
                          duration=row.duration, skipped=row.skipped)


def json_value(raw: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded (PostgreSQL jsonb)."""
    return json.loads(raw) if isinstance(raw, str | bytes) else raw
