"""Status of every app: what Git says against what is live, and the last sync.

Sync state is computed, not remembered: each app is planned against live
state (a dry run), so ``out_of_sync`` also shows drift made by hand on the
target since the last sync. An app that fails to render shows ``error``.
"""

from __future__ import annotations

from typing import Any

from gitward.core.errors import GitwardError
from gitward.engine.sync import plan_app
from gitward.engine.workspace import Workspace

__all__ = ["app_status"]


def app_status(ws: Workspace) -> list[dict[str, Any]]:
    rows = []
    for name, spec in sorted(ws.system().apps.items()):
        state = ws.store.app_state(name)
        row: dict[str, Any] = {
            "app": name, "target": spec.target, "path": spec.path,
            "synced_revision": state.revision, "synced_at": state.synced_at,
            "last_outcome": state.outcome, "pinned": state.pinned, "error": None,
        }
        try:
            report = plan_app(ws, name)
        except GitwardError as error:
            row.update(sync="error", health="unknown", revision=None, subject=None,
                       error=str(error), pending=None)
        else:
            row.update(sync="synced" if report.plan.in_sync else "out_of_sync",
                       health=report.health.value, revision=report.revision,
                       subject=report.subject, pending=len(report.plan.pending))
        rows.append(row)
    return rows
