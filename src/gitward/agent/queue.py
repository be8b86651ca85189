"""One operation per app at a time, the rest queued and coalesced.

Operations on different apps run side by side in a small thread pool. A
request for an app that is busy waits in that app's single pending slot; a
second request merges into it (a sync outranks a drift check, the first
trigger is kept), so ten webhooks during one sync cause one more sync, not
ten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["AppQueue", "Operation"]

log = logging.getLogger("gitward.agent")

RANK = {"drift": 0, "sync": 1}


@dataclass(frozen=True)
class Operation:
    kind: str        # "sync" or "drift"
    trigger: str     # auto, webhook, self_heal, retry, manual, ...
    resource: str | None = None   # sync only this Kind/name
    revision: str | None = None   # sync at this revision instead of the head

    @property
    def whole(self) -> bool:
        return self.resource is None and self.revision is None

    def merge(self, other: Operation) -> Operation:
        if RANK[other.kind] != RANK[self.kind]:
            return other if RANK[other.kind] > RANK[self.kind] else self
        # Two syncs: a whole-app sync covers a narrower one.
        return other if other.whole and not self.whole else self


class AppQueue:
    def __init__(self, run: Callable[[str, Operation], None], workers: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gitward-app")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._pending: dict[str, Operation] = {}
        self._closed = False

    def submit(self, app: str, op: Operation) -> bool:
        """Queue `op`; False when it merged into work already waiting or running."""
        with self._lock:
            if self._closed:
                return False
            if app in self._busy:
                waiting = self._pending.get(app)
                self._pending[app] = waiting.merge(op) if waiting else op
                return waiting is None
            self._busy.add(app)
        self._pool.submit(self._work, app, op)
        return True

    def busy(self, app: str) -> bool:
        with self._lock:
            return app in self._busy

    def idle(self) -> bool:
        with self._lock:
            return not self._busy

    def _work(self, app: str, op: Operation) -> None:
        current: Operation | None = op
        while current is not None:
            try:
                self._run(app, current)
            except Exception:  # a bug must not kill the worker or wedge the app
                log.exception("operation %s on %s failed unexpectedly", current.kind, app)
            with self._lock:
                current = None if self._closed else self._pending.pop(app, None)
                if current is None:
                    self._busy.discard(app)
                    self._pending.pop(app, None)

    def close(self) -> None:
        """Take no more work; wait for the operations in hand to finish."""
        with self._lock:
            self._closed = True
            self._pending.clear()
        self._pool.shutdown(wait=True)
