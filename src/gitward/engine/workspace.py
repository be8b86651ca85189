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
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward.core.errors import GitwardError
from gitward.core.seams import Provider, Snapshot, Store
from gitward.xdg import base_dir

if TYPE_CHECKING:
    from gitward.core.system import AppSpec, SystemSpec, TargetSpec
    from gitward.sources.objects import ObjectsKind

__all__ = ["AppBusyError", "FetchAhead", "Workspace", "default_state_dir"]

SYSTEM_CACHE_FORMAT = 2
SYSTEM_CACHE = Path("cache") / "system.pickle"   # under the state directory


class AppBusyError(GitwardError):
    """Another gitward process is operating on the same app."""


def default_state_dir() -> Path:
    """``$GITWARD_STATE_DIR``, else ``$XDG_STATE_HOME/gitward`` (~/.local/state/gitward;
    a relative ``$XDG_STATE_HOME`` is ignored, as for the store's default)."""
    explicit = os.environ.get("GITWARD_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return base_dir("XDG_STATE_HOME", ".local/state") / "gitward"


class FetchAhead:
    """A fetch of the source that runs while a command sets up the rest.

    A one-shot command spends tens of milliseconds waiting for ``git fetch``
    and as many opening its store and loading modules; a thread lets the two
    overlap. `result` waits for it and raises what the fetch raised."""

    def __init__(self, source: Any, ref: str | None) -> None:
        self.source = source
        self._outcome: list[Any] = []
        self._thread = threading.Thread(target=self._run, args=(ref,), name="gitward-fetch",
                                        daemon=True)
        self._thread.start()

    def _run(self, ref: str | None) -> None:
        try:
            self._outcome.append(self.source.fetch(ref))
        except BaseException as error:  # handed to the thread that asks for the result
            self._outcome.append(error)

    def result(self) -> Snapshot:
        self._thread.join()
        found = self._outcome[0]
        if isinstance(found, BaseException):
            raise found
        snapshot: Snapshot = found
        return snapshot

    def wait(self) -> None:
        """Let the fetch end (a command that fails before it needs the snapshot
        must not leave git writing the mirror after it exits)."""
        self._thread.join()


@dataclass
class Workspace:
    repo: str
    store: Store
    ref: str | None = None
    state_dir: Path = field(default_factory=default_state_dir)
    root_overrides: Mapping[str, str] = field(default_factory=dict)
    seal: bool = False      # seal converged apps for the next one-shot sync (CLI)
    # How Git objects are read: "git" (one `git cat-file` process, cheapest for a
    # one-shot command) or "pygit2" (libgit2, cheapest once loaded: the agent).
    objects: ObjectsKind = "pygit2"
    ahead: FetchAhead | None = None     # a fetch of the head already under way
    _source: Any = None
    _snapshot: Snapshot | None = None
    _system: SystemSpec | None = None
    _pinned: dict[str, Snapshot] = field(default_factory=dict)
    _providers: dict[str, dict[str, Provider]] = field(default_factory=dict)
    _connections: dict[str, Any] = field(default_factory=dict)
    _made: dict[tuple[str, int], Provider] = field(default_factory=dict)  # per class, target

    def __post_init__(self) -> None:
        if self.ahead is not None:
            self._source = self.ahead.source   # the one source, fetching already

    @property
    def source(self) -> Any:
        if self._source is None:
            from gitward.sources.git import GitSource

            self._source = GitSource(self.repo, self.state_dir, objects=self.objects)
        return self._source

    def snapshot(self) -> Snapshot:
        """The repository at `ref` (default branch if unset), fetched once."""
        if self._snapshot is None:
            if self.ahead is not None:
                # Kept until it answers: if Ctrl-C interrupts the wait, close() still
                # waits for git before the process exits.
                self._snapshot = self.ahead.result()
                self.ahead = None
            else:
                self._snapshot = self.source.fetch(self.ref)
        return self._snapshot

    def system(self) -> SystemSpec:
        """The system map at the head snapshot, validated once per change of its files."""
        if self._system is None:
            self._system = self._cached_system(self.snapshot())
        return self._system

    def _cached_system(self, snapshot: Snapshot) -> SystemSpec:
        from gitward.config import load_system, system_files
        from gitward.engine.cache import load_entry, save_entry

        # Each file's own id: a symlink inside gitward.d keeps the directory's id.
        key = (SYSTEM_CACHE_FORMAT, [(f, snapshot.tree_id(f)) for f in system_files(snapshot)],
               sorted(self.root_overrides.items()))
        path = self.state_dir / SYSTEM_CACHE
        entry = load_entry(path)
        if entry.get("key") == key:
            cached: SystemSpec = entry["system"]
            return cached
        system = load_system(snapshot, root_overrides=self.root_overrides)
        save_entry(path, {"key": key, "system": system})
        return system

    def prepare_while_fetching(self) -> None:
        """While a fetch is under way, and this state directory has no system map
        yet (a first run), load what reading one from Git takes: the YAML loader,
        the validators of the map and of the manifest envelope, all of which the
        render needs next (without a validator cache, ~130 ms, of which the fetch
        hides about half)."""
        if self.ahead is None or (self.state_dir / SYSTEM_CACHE).exists():
            return
        import gitward.renderers.yaml_load
        from gitward.core.manifest import Manifest
        from gitward.core.system import build_validators
        from gitward.core.validation import validator

        build_validators()
        validator(Manifest)
        import gitward.renderers.build  # noqa: F401  (for the render)

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

    def provider(self, target: str, kind: str) -> Provider:
        """The provider instance serving `kind` on one target (one per class and target)."""
        kinds = self._providers.setdefault(target, {})
        if kind not in kinds:
            from gitward.providers import provider_for_kind

            factory = provider_for_kind(kind)
            if factory is None:
                from gitward.providers import kind_registry

                raise GitwardError(f"no provider for kind {kind} (target {target}); known "
                                   f"kinds: {', '.join(sorted(kind_registry()))}")
            made = self._made.get((target, id(factory)))
            if made is None:
                made = self._made[(target, id(factory))] = factory(self.connection(target))
            kinds[kind] = made
        return kinds[kind]

    def connection(self, target: str) -> Any:
        """The connection to one target (today: this machine, under the target's root)."""
        if target not in self._connections:
            from gitward.providers.connection import LocalConnection

            spec = self.target(target)
            self._connections[target] = LocalConnection(os.path.expanduser(spec.root))
        return self._connections[target]

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
        """Save what the snapshots learnt of their commits (so the next command at the
        same commit reads no Git objects), then close the store."""
        if self.ahead is not None:
            self.ahead.wait()
        remember = getattr(self._source, "remember", None)
        if remember is not None:
            for snap in (self._snapshot, *self._pinned.values()):
                if snap is not None:
                    remember(snap)
        close = getattr(self._source, "close", None)
        if close is not None:
            close()
        self.store.close()
