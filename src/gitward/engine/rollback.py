"""Rollback is Git: a revert-style commit, pushed, then synced like any change.

`rollback_app` writes a commit on the source branch that restores the app's
watched paths (its path, overlay base and values files) to their content at
an earlier revision, by default the revision of the previous successful sync.
Nothing is rolled back behind Git's back: the commit names the app, both
revisions and the reason, so the repository tells the story.

When the repository cannot be pushed to, `pin_app` records a pin in the store
instead: the app converges from the pinned revision, and automatic syncs of
new revisions hold, until `unpin_app`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.core.errors import GitwardError
from gitward.core.model import Outcome
from gitward.core.seams import Store
from gitward.engine.sync import AppReport, sync_app
from gitward.engine.workspace import Workspace

__all__ = ["NoRollbackTargetError", "RollbackPushError", "RollbackReport", "pin_app",
           "record_pin", "rollback_app", "rollback_revision", "unpin_app"]


class NoRollbackTargetError(GitwardError):
    """There is no earlier successful sync to go back to."""


class RollbackPushError(GitwardError):
    """The rollback commit could not be pushed (no permission, hook refused...)."""


@dataclass
class RollbackReport:
    app: str
    from_revision: str
    to_revision: str
    commit: str | None
    branch: str | None
    sync: AppReport | None
    pinned: bool = False


def rollback_revision(ws: Workspace, app: str) -> str:
    """The revision of the previous successful sync: the last success whose
    revision differs from the latest success's."""
    successes = [r for r in ws.store.history(app, limit=500)
                 if r.outcome is Outcome.succeeded and not r.dry_run]
    if not successes:
        raise NoRollbackTargetError(f"app {app} has no successful sync yet; "
                                    "pass --to REV to choose a revision")
    current = successes[0].revision
    for run in successes[1:]:
        if run.revision != current:
            return run.revision
    raise NoRollbackTargetError(
        f"app {app} was only ever synced successfully at {current[:12]}; "
        "pass --to REV to choose a revision")


def rollback_app(ws: Workspace, app: str, *, to: str | None = None, reason: str | None = None,
                 author: tuple[str, str] = ("gitward", "gitward@localhost"),
                 attempts: int = 3) -> RollbackReport:
    """Commit the app's paths as they were at `to`, push, fetch and sync."""
    from gitward.sources.commit import (
        PushError,
        PushRejectedError,
        push,
        restore_paths_commit,
    )

    source = ws.source
    head = ws.snapshot()
    spec = ws.app(app)
    target = source.resolve(to) if to else rollback_revision(ws, app)
    branch = ws.ref if ws.ref and _is_branch(source, ws.ref) else source.default_branch()
    for attempt in range(attempts):
        head = ws.snapshot()
        message = _message(app, spec.watched_paths, head.revision, target, reason)
        commit = restore_paths_commit(source, head.revision, target, spec.watched_paths,
                                      message, author[0], author[1])
        if commit is None:
            break
        try:
            push(source, commit, branch)
            break
        except PushError as error:
            raise RollbackPushError(
                f"{error}; nothing was rolled back. If gitward may not write to this "
                f"repository, pin the app instead: gitward rollback {app} --pin "
                f"{target[:12]}") from None
        except PushRejectedError:
            if attempt == attempts - 1:
                raise
            ws._snapshot = None  # the branch moved on: fetch and write the commit again
            ws._system = None
    ws._snapshot = None
    ws._system = None
    report = sync_app(ws, app, trigger="rollback")
    ws.store.event(app, "rollback", f"rolled back to {target[:12]} with commit "
                   f"{(commit or 'none')[:12]}" + (f": {reason}" if reason else ""),
                   revision=commit or head.revision)
    return RollbackReport(app, head.revision, target, commit, branch, report)


def _is_branch(source: object, ref: str) -> bool:
    try:
        return ref in source.branches()  # type: ignore[attr-defined]
    except AttributeError:
        return False


def _message(app: str, paths: list[str], head: str, target: str, reason: str | None) -> str:
    lines = [f"Roll back {app} to {target[:12]}", "",
             f"Restores {', '.join(paths)} to their content at {target}",
             f"(the branch was at {head}).", ""]
    if reason:
        lines += [f"Reason: {reason}", ""]
    lines += [f"Gitward-Rollback: {app}", f"Gitward-From: {head}", f"Gitward-To: {target}"]
    return "\n".join(lines) + "\n"


def record_pin(store: Store, app: str, revision: str, reason: str | None = None,
               who: str | None = None) -> None:
    """Pin `app` to the full SHA `revision` in the store, with an event saying so."""
    store.pin(app, revision, reason)
    by = f"{who} pinned {app}" if who else "pinned"
    store.event(app, "pinned", f"{by} to {revision[:12]}" + (f": {reason}" if reason else ""),
                revision=revision)


def pin_app(ws: Workspace, app: str, revision: str, reason: str | None = None) -> AppReport:
    """Hold `app` at `revision` without writing to Git, and converge it there."""
    ws.app(app)
    record_pin(ws.store, app, ws.source.resolve(revision), reason)
    return sync_app(ws, app, trigger="pin")


def unpin_app(store: Store, app: str, who: str | None = None) -> str | None:
    """Clear the pin; returns the revision it was pinned to, if any."""
    was = store.app_state(app).pinned
    store.pin(app, None)
    if was:
        by = f"{who} unpinned {app}" if who else "unpinned"
        store.event(app, "unpinned", f"{by} from {was[:12]}", revision=was)
    return was
