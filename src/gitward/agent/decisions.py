"""The agent's small decisions, as pure functions of what it knows.

Whether a new revision touches an app, whether an app may sync on its own
now, and whether its dependencies let it: no I/O here, so the scheduler in
`runner` reads as the steps it takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gitward.agent.state import AppStatus
from gitward.core.system import AppSpec

__all__ = ["auto_hold", "dependency_blocker", "touches"]


def touches(changed: set[str], paths: Iterable[str]) -> bool:
    """Whether any changed repository path is one of `paths` or below one."""
    for path in paths:
        prefix = path.rstrip("/") + "/"
        if path in changed or any(c.startswith(prefix) for c in changed):
            return True
    return False


def auto_hold(app: AppSpec, pinned: str | None, suspended: bool) -> str | None:
    """Why the agent may not sync `app` on its own (a pin, a suspension, auto off)."""
    if pinned:
        return f"pinned to {pinned[:12]}; new revisions wait for `gitward unpin {app.name}`"
    if app.sync.suspend:
        return "suspended in gitward.yaml (sync.suspend: true)"
    if suspended:
        return f"suspended through the API; `resume` it to sync {app.name} again"
    if not app.sync.auto:
        return "auto-sync is off (sync.auto: false); run `gitward sync`"
    return None


def dependency_blocker(app: AppSpec, revision: str, statuses: Mapping[str, AppStatus]
                       ) -> str | None:
    """Why `app` may not sync at `revision` yet, or None when its dependencies
    are synced (or unchanged and in sync) and healthy at that revision."""
    for dep in app.depends_on:
        status = statuses.get(dep)
        if status is None or status.sync in ("pending", "syncing", "waiting", "unknown"):
            return f"waiting for dependency {dep} to sync at {revision[:12]}"
        if status.sync != "synced" or status.head != revision:
            return f"held: dependency {dep} did not sync ({status.message or status.sync})"
        if status.health != "healthy":
            return f"held: dependency {dep} is {status.health}, not healthy"
    return None
