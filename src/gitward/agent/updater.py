"""The version updater, run by the agent on each policy's interval.

The updater only commits to Git; its commit comes back through the agent's
next fetch like any other. One updater run at a time, in the background, so
a slow registry never holds reconciliation. Policies are read once per
revision, not on every pass of the scheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gitward.core.errors import GitwardError
from gitward.core.seams import Snapshot, Store

__all__ = ["ScheduledUpdater"]

log = logging.getLogger("gitward.agent")


class ScheduledUpdater:
    def __init__(self, store: Store, ref: str | None, on_commit: Callable[[str], None]) -> None:
        self.store, self.ref, self.on_commit = store, ref, on_commit
        self._last_run: dict[str, float] = {}
        self._policies: tuple[str, dict[str, Any]] | None = None   # (revision, policies)
        self._thread: threading.Thread | None = None

    def start_due(self, snapshot: Snapshot | None, source: Any) -> None:
        """Start a background run of the policies whose interval is up."""
        if snapshot is None or (self._thread is not None and self._thread.is_alive()):
            return
        from gitward.updates.run import due_policies

        due = due_policies(self._policies_at(snapshot), self._last_run, time.monotonic())
        if not due:
            return
        now = time.monotonic()
        for name in due:
            self._last_run[name] = now
        self._thread = threading.Thread(target=self._run, args=(source, due),
                                        name="gitward-updater", daemon=True)
        self._thread.start()

    def _policies_at(self, snapshot: Snapshot) -> dict[str, Any]:
        if self._policies is None or self._policies[0] != snapshot.revision:
            from gitward.updates.policy import load_policies

            try:
                found: dict[str, Any] = dict(load_policies(snapshot))
            except GitwardError:
                found = {}   # reported by the update run that meets it; syncs go on
            self._policies = (snapshot.revision, found)
        return self._policies[1]

    def _run(self, source: Any, due: list[str]) -> None:
        from gitward.updates.run import run_updates

        branch = self.ref or source.default_branch()
        try:
            run_updates(source, branch, self.store, only=due)
        except GitwardError as error:
            log.warning("update run of %s failed: %s", ", ".join(due), error)
            return
        self.on_commit("updater commit")

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def events(self) -> list[dict[str, Any]]:
        from gitward.updates.run import update_events

        return update_events(self.store)
