"""How the web UI shows values, diffs and what a rollback would undo.

Pure functions, no I/O: times as a person reads them (`when`, `ago`),
values as text with secrets shown only as their redaction marker
(`show_value`), a change as rows of differing fields where multi-line text
becomes a unified diff (`change_view`, `field_view`), and the inverse of the
runs since a revision (`revert_views`) for the rollback preview when the
agent cannot render that revision. The templates of `gitward.server.ui` read
the `ChangeView` and `FieldView` records.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.console import short, when
from gitward.core.model import Action, Change, DiffItem, Key, Outcome, Run

__all__ = [
    "REDACTED", "ChangeView", "FieldView", "ago", "change_view", "field_view", "is_redacted",
    "iso", "revert_views", "short", "show_value", "when",
]

REDACTED = "<redacted:"


# -- values as a person reads them ---------------------------------------------------------



def iso(epoch: float | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def ago(epoch: float | None, now: float | None = None) -> str:
    if not epoch:
        return "never"
    seconds = max(0, int((now or time.time()) - epoch))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def is_redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REDACTED)


def show_value(value: Any) -> str:
    """One value as text: strings as JSON, bytes by size, secrets as their marker."""
    if value is None:
        return "—"
    if is_redacted(value):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return json.dumps(value, default=str, ensure_ascii=False)


# -- diffs ----------------------------------------------------------------------------------

@dataclass
class FieldView:
    """One differing field: a unified diff of two texts, or an old → new row."""

    op: str
    path: str
    old: str = ""
    new: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)   # (css class, text)
    secret: bool = False


@dataclass
class ChangeView:
    key: str
    action: str
    kind: str
    name: str
    target: str
    origin: str = ""
    reason: str = ""
    fields: list[FieldView] = field(default_factory=list)


def field_view(item: DiffItem) -> FieldView:
    """Text fields with newlines become a unified diff (live → desired); the rest
    an old/new pair. A redacted value is never diffed: only its marker shows."""
    secret = is_redacted(item.old) or is_redacted(item.new)
    if (not secret and isinstance(item.old, str | None) and isinstance(item.new, str | None)
            and ("\n" in (item.old or "") or "\n" in (item.new or ""))):
        old, new = (item.old or "").splitlines(), (item.new or "").splitlines()
        lines = []
        for line in list(difflib.unified_diff(old, new, "live", "desired", lineterm="", n=3)):
            kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
            if line.startswith(("+++", "---")):
                kind = "file"
            lines.append((kind, line))
        return FieldView(item.op, item.path, lines=lines)
    return FieldView(item.op, item.path, show_value(item.old), show_value(item.new),
                     secret=secret)


def change_view(change: Change) -> ChangeView:
    origin = change.resource.origin
    return ChangeView(str(change.key), change.action.value, change.key.kind, change.key.name,
                      change.key.target, str(origin) if origin else "", change.reason or "",
                      [field_view(f) for f in change.fields])


def revert_views(history: list[Run], to: str,
                 load: Callable[[int], Run | None]) -> list[ChangeView] | None:
    """What rolling back to `to` undoes, from the runs recorded since the last
    successful sync at `to` (history is newest first, `load` reads a run with
    its results); None when gitward never synced `to`. Per key and field: from
    its value now back to its value then."""
    at = next((i for i, r in enumerate(history) if r.revision.startswith(to)
               and r.outcome is Outcome.succeeded and not r.dry_run), None)
    if at is None:
        return None
    first_action: dict[Key, Action] = {}
    last_action: dict[Key, Action] = {}
    fields: dict[Key, dict[str, list[Any]]] = {}   # path -> [then, now, first op, last op]
    for summary in reversed(history[:at]):
        run = load(summary.id) if not summary.dry_run else None
        if run is None:
            continue
        for result in run.results:
            if not result.ok or result.skipped or result.action is Action.noop:
                continue
            first_action.setdefault(result.key, result.action)
            last_action[result.key] = result.action
            known = fields.setdefault(result.key, {})
            for item in result.fields:
                if item.path in known:
                    known[item.path][1], known[item.path][3] = item.new, item.op
                else:
                    known[item.path] = [item.old, item.new, item.op, item.op]
    views = []
    for key in sorted(first_action):
        if first_action[key] is Action.create:
            action = "delete"
        elif last_action[key] is Action.delete:
            action = "create"
        else:
            action = "update"
        items = []
        for path, (then, now, first_op, last_op) in fields.get(key, {}).items():
            if then == now and first_op == "change":
                continue
            op = "remove" if first_op == "add" else "add" if last_op == "remove" else "change"
            items.append(field_view(DiffItem(op, path, now, then)))
        if action == "delete" or action == "create" or items:
            views.append(ChangeView(str(key), action, key.kind, key.name, key.target,
                                    fields=items))
    return views
