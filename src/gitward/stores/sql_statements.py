"""The SQL store's statements and rows: what `gitward.stores.sql.SqlStore` sends and reads.

Every statement is SQL text with ``:name`` parameters, written once, that
runs unchanged on SQLite (3.35 or newer, for ``RETURNING``) and PostgreSQL:
the sqlite3 module takes it as is, SQLAlchemy's ``text()`` translates the
parameters for psycopg (see `gitward.stores.sql_driver`). They are constant
strings, because the sqlite3 module caches prepared statements by their text
and a run repeats some for every result. The row functions turn the model's
records into parameters and rows back into records: JSON columns are written
as compact JSON text (`json_text`) and read with `json_value`; SQLite gives
booleans back as 0 or 1, so they pass through ``bool``. The tables and what
their columns mean are in `gitward.stores.schema`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gitward.core.model import Action, Health, Key, Outcome, RecordedResult, Resource, Result, Run
from gitward.core.seams import AppState
from gitward.stores.codec import (
    diff_items_from_json,
    resource_to_json,
    result_fields_to_json,
)
from gitward.stores.sql_driver import Row

# -- inventory ----------------------------------------------------------------

LATEST_RUN = "SELECT id, finished FROM runs WHERE app = :app ORDER BY id DESC LIMIT 1"
READ_INVENTORY = "SELECT resource, live FROM inventory WHERE app = :app"
_UPSERT_INVENTORY = """
    INSERT INTO inventory (app, kind, target, name, resource, live, revision, updated_at)
    VALUES (:app, :kind, :target, :name, :resource, :live, :revision, :updated_at)
    ON CONFLICT (app, kind, target, name) DO UPDATE
    SET resource = excluded.resource, live = excluded.live, updated_at = excluded.updated_at"""
REFRESH_INVENTORY = _UPSERT_INVENTORY     # what is live now; the revision stays
APPLY_INVENTORY = _UPSERT_INVENTORY + ", revision = excluded.revision"
DELETE_INVENTORY = """
    DELETE FROM inventory
    WHERE app = :app AND kind = :kind AND target = :target AND name = :name"""

# -- runs and their results -----------------------------------------------------

_RUN_COLUMNS = ("id, app, revision, trigger, started, finished, outcome, health, counts, "
                "subject, error, dry_run")
INSERT_RUN = """
    INSERT INTO runs (app, revision, subject, trigger, started, outcome, dry_run, counts, plan)
    VALUES (:app, :revision, :subject, :trigger, :started, :outcome, :dry_run, :counts, :plan)
    RETURNING id"""
OPEN_RUN = "SELECT app, revision, dry_run FROM runs WHERE id = :run"
LAST_SEQ = "SELECT max(seq) AS last_seq FROM results WHERE run_id = :run"
INSERT_RESULT = """
    INSERT INTO results (run_id, seq, kind, target, name, action, ok, skipped, error, fields,
                         duration)
    VALUES (:run_id, :seq, :kind, :target, :name, :action, :ok, :skipped, :error, :fields,
            :duration)"""
COUNT_FAILED_AND_SKIPPED = """
    SELECT sum(CASE WHEN NOT ok AND NOT skipped THEN 1 ELSE 0 END) AS failed,
           sum(CASE WHEN skipped THEN 1 ELSE 0 END) AS skipped
    FROM results WHERE run_id = :run"""
PLANNED_COUNTS = "SELECT counts FROM runs WHERE id = :run"
FINISH_RUN = """
    UPDATE runs
    SET finished = :finished, outcome = :outcome, health = :health, error = :error,
        counts = :counts
    WHERE id = :run"""
INTERRUPT_RUNNING = """
    UPDATE runs SET outcome = :interrupted, finished = :finished
    WHERE app = :app AND outcome = :running
    RETURNING id"""
HISTORY = f"SELECT {_RUN_COLUMNS} FROM runs WHERE app = :app ORDER BY id DESC LIMIT :limit"
RUN = f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = :run"
RUN_RESULTS = """
    SELECT kind, target, name, action, ok, skipped, error, fields, duration
    FROM results WHERE run_id = :run ORDER BY seq"""
RUN_PLAN = "SELECT plan FROM runs WHERE id = :run"

# -- backups and events ---------------------------------------------------------

KEEP_FIRST_BACKUP = """
    INSERT INTO backups (target, claim, key, data, taken_at)
    VALUES (:target, :claim, :key, :data, :taken_at)
    ON CONFLICT (target, claim) DO NOTHING"""
LOAD_BACKUP = "SELECT data FROM backups WHERE target = :target AND claim = :claim"
DROP_BACKUP = "DELETE FROM backups WHERE target = :target AND claim = :claim"
INSERT_EVENT = """
    INSERT INTO events (at, app, revision, kind, message, data)
    VALUES (:at, :app, :revision, :kind, :message, :data)"""
_EVENT_COLUMNS = "id, at, app, revision, kind, message, data"
EVENTS = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > :since ORDER BY id LIMIT :limit"
APP_EVENTS = (f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > :since AND app = :app "
              "ORDER BY id LIMIT :limit")

# -- app state ----------------------------------------------------------------

TOUCH_APP = "INSERT INTO app_state (app) VALUES (:app) ON CONFLICT (app) DO NOTHING"
_APP_STATE_COLUMNS = ("app, pinned, pin_reason, revision, tree_id, synced_at, outcome, health, "
                      "suspended")
APP_STATE = f"SELECT {_APP_STATE_COLUMNS} FROM app_state WHERE app = :app"
APPS = f"SELECT {_APP_STATE_COLUMNS} FROM app_state ORDER BY app"


def update_app_state(columns: Iterable[str]) -> str:
    """``UPDATE app_state`` of `columns` (names from this package, never input)
    for the app ``:app``; each call site asks for the same text every time."""
    assignments = ", ".join(f"{column} = :{column}" for column in columns)
    return f"UPDATE app_state SET {assignments} WHERE app = :app"


# -- users and API tokens ---------------------------------------------------------

_USER_COLUMNS = "name, password_hash, role, apps, created_at, disabled"
INSERT_USER = f"""
    INSERT INTO users ({_USER_COLUMNS})
    VALUES (:name, :password_hash, :role, :apps, :created_at, :disabled)"""
USER = f"SELECT {_USER_COLUMNS} FROM users WHERE name = :name"
USERS = f"SELECT {_USER_COLUMNS} FROM users ORDER BY name"
SET_USER = """
    UPDATE users
    SET password_hash = COALESCE(:password_hash, password_hash),
        role = COALESCE(:role, role), apps = COALESCE(:apps, apps),
        disabled = COALESCE(:disabled, disabled)
    WHERE name = :name
    RETURNING name"""
# "user" is quoted: unquoted, PostgreSQL reads it as CURRENT_USER.
_TOKEN_COLUMNS = ('id, name, "user", role, apps, token_hash, created_at, expires_at, '
                  'revoked_at, last_used_at')
INSERT_TOKEN = """
    INSERT INTO api_tokens (name, "user", role, apps, token_hash, created_at, expires_at)
    VALUES (:name, :user, :role, :apps, :token_hash, :created_at, :expires_at)
    RETURNING id"""
TOKEN_BY_HASH = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = :token_hash"
TOKENS = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
REVOKE_TOKEN = """
    UPDATE api_tokens SET revoked_at = :now
    WHERE id = :id AND revoked_at IS NULL
    RETURNING id"""
TOUCH_TOKEN = "UPDATE api_tokens SET last_used_at = :now WHERE id = :id"


# -- rows -----------------------------------------------------------------------

_COMPACT = json.JSONEncoder(separators=(",", ":"))   # one, not one per value (3 per resource)


def json_text(value: Any) -> str | None:
    """What a JSON column holds for `value`: compact JSON, or SQL NULL for None."""
    return None if value is None else _COMPACT.encode(value)


def json_value(raw: Any) -> Any:
    """A JSON column read as text (SQLite) or already decoded (PostgreSQL json)."""
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


def key_row(app: str, key: Key) -> dict[str, str]:
    return {"app": app, "kind": key.kind, "target": key.target, "name": key.name}


def inventory_row(app: str, desired: Resource, live: Resource | None, revision: str | None,
                  now: float) -> dict[str, Any]:
    return {**key_row(app, desired.key), "resource": json_text(resource_to_json(desired)),
            "live": None if live is None else json_text(resource_to_json(live, desired.sensitive)),
            "revision": revision, "updated_at": now}


def result_row(run: int, seq: int, result: Result) -> dict[str, Any]:
    change = result.change
    return {"run_id": run, "seq": seq, "kind": change.key.kind, "target": change.key.target,
            "name": change.key.name, "action": change.action.value, "ok": result.ok,
            "skipped": result.skipped, "error": result.error,
            "fields": json_text(result_fields_to_json(result)),
            "duration": result.duration}


def run_from_row(row: Row, recorded: tuple[RecordedResult, ...] = ()) -> Run:
    return Run(id=row["id"], app=row["app"], revision=row["revision"], trigger=row["trigger"],
               started=row["started"], finished=row["finished"],
               outcome=Outcome(row["outcome"]),
               health=None if row["health"] is None else Health(row["health"]),
               counts=json_value(row["counts"]), subject=row["subject"], error=row["error"],
               dry_run=bool(row["dry_run"]), results=recorded)


def recorded_from_row(row: Row) -> RecordedResult:
    return RecordedResult(key=Key(row["kind"], row["target"], row["name"]),
                          action=Action(row["action"]), ok=bool(row["ok"]), error=row["error"],
                          fields=diff_items_from_json(json_value(row["fields"])),
                          duration=row["duration"], skipped=bool(row["skipped"]))


def event_from_row(row: Row) -> dict[str, Any]:
    return {**row, "data": json_value(row["data"])}


def app_state_from_row(row: Row) -> AppState:
    return AppState(**{**row, "suspended": bool(row["suspended"])})


def user_from_row(row: Row) -> dict[str, Any]:
    return {**row, "disabled": bool(row["disabled"])}
