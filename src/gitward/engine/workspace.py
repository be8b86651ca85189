"""Everything one command needs: the source, its snapshot, the system map,
the store, the targets' providers and the per-app locks.

A `Workspace` is opened once per CLI command (or per agent) and handed to the
engine functions; nothing is global. The source is fetched at most once per
workspace; an app pinned in the store is read from the snapshot at its pin.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitward.core.errors import GitwardError
from gitward.core.seams import Provider, Snapshot, Store
from gitward.core.system import AppSpec, SystemSpec, TargetSpec

__all__ = ["AppBusyError", "Workspace", "default_state_dir"]


class AppBusyError(GitwardError):
    """Another gitward process is operating on the same app."""


def default_state_dir() -> Path:
    """``$GITWARD_STATE_DIR``, else ``$XDG_STATE_HOME/gitward`` (~/.local/state/gitward)."""
    explicit = os.environ.get("GITWARD_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "gitward"


@dataclass
class Workspace:
    repo: str
    store: Store
    ref: str | None = None
    state_dir: Path = field(default_factory=default_state_dir)
    root_overrides: Mapping[str, str] = field(default_factory=dict)
    _source: Any = None
    _snapshot: Snapshot | None = None
    _system: SystemSpec | None = None
    _pinned: dict[str, Snapshot] = field(default_factory=dict)
    _providers: dict[str, dict[str, Provider]] = field(default_factory=dict)
    _connections: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> Any:
        if self._source is None:
            from gitward.sources.git import GitSource

            self._source = GitSource(self.repo, self.state_dir)
        return self._source

    def snapshot(self) -> Snapshot:
        """The repository at `ref` (default branch if unset), fetched once."""
        if self._snapshot is None:
            self._snapshot = self.source.fetch(self.ref)
        return self._snapshot

    def system(self) -> SystemSpec:
        if self._system is None:
            from gitward.config import load_system

            self._system = load_system(self.snapshot(), root_overrides=self.root_overrides)
        return self._system

    def app(self, name: str) -> AppSpec:
        apps = self.system().apps
        if name not in apps:
            known = ", ".join(sorted(apps)) or "none"
            raise GitwardError(f"no app named {name!r} in gitward.yaml at "
                               f"{self.snapshot().revision[:12]}; known apps: {known}")
        return apps[name]

    def snapshot_for(self, app: str) -> tuple[Snapshot, AppSpec, str | None]:
        """The snapshot and app spec to converge `app` from, and its pin if any:
        the pinned revision, or the head."""
        pinned = self.store.app_state(app).pinned
        if not pinned:
            return self.snapshot(), self.app(app), None
        if app not in self._pinned:
            self._pinned[app] = self.source.snapshot(pinned)
        snap = self._pinned[app]
        from gitward.config import load_system

        try:
            spec = load_system(snap, root_overrides=self.root_overrides).apps.get(app)
        except GitwardError:
            spec = None
        return snap, spec or self.app(app), pinned

    def target(self, name: str) -> TargetSpec:
        return self.system().targets[name]

    def providers(self, target: str) -> dict[str, Provider]:
        """Provider instances for every kind, bound to one target's connection."""
        if target not in self._providers:
            from gitward.providers import kind_registry
            from gitward.providers.connection import LocalConnection

            spec = self.target(target)
            connection = LocalConnection(os.path.expanduser(spec.root))
            self._connections[target] = connection
            made: dict[int, Provider] = {}
            kinds: dict[str, Provider] = {}
            for kind, factory in kind_registry().items():
                if id(factory) not in made:
                    made[id(factory)] = factory(connection)
                kinds[kind] = made[id(factory)]
            self._providers[target] = kinds
        return self._providers[target]

    def flush(self) -> None:
        """Make what was applied durable: fsync the directories that changed."""
        for connection in self._connections.values():
            connection.flush()

    @contextmanager
    def lock(self, app: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the app's lock for one operation, waiting up to `wait` seconds for
        another process's operation to end; refuse after that."""
        locks = self.state_dir / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"{re.sub(r'[^A-Za-z0-9._-]', '_', app)}.lock"
        with open(path, "a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise AppBusyError(
                            f"app {app} is being synced by {holder}; wait for it to finish "
                            "and try again") from None
                    time.sleep(0.05)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self.store.close()
