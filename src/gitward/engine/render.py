"""Rendering apps into desired resources, cached by the Git ids they read.

Cost follows change. Plain apps are cached file by file (render_files.py):
a commit that changes one manifest re-renders that one. Other apps are
rendered again only when the id of one of their watched paths (path, overlay
base, values files) or of any other file the render read (e.g. a ``source:``
outside the app) changed, or their spec in the system map changed. The cache
holds the resources themselves, so an unchanged app costs one id lookup per
file it read and one cache read. A sync that keeps seals goes further
(`render_for_sync`): a manifest reused as it was is held, its resources left
unpickled, and a sealed app whose files kept their facts never loads them.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward.core.errors import ManifestError
from gitward.core.model import Key, Resource
from gitward.core.plan import check_unique
from gitward.core.seams import Snapshot
from gitward.engine.cache import load_entry, save_entry
from gitward.engine.render_files import FileUnit, render_plain_files

if TYPE_CHECKING:
    from gitward.core.system import AppSpec, SystemSpec

__all__ = ["Rendered", "cross_app_conflicts", "input_paths", "render_app", "render_apps",
           "render_for_sync"]

CACHE_FORMAT = 10


class _ReadLog:
    """A snapshot wrapper that remembers which paths a renderer looked at."""

    def __init__(self, inner: Snapshot) -> None:
        self.inner = inner
        self.revision = inner.revision
        self.subject = inner.subject
        self.paths: set[str] = set()

    def read(self, path: str) -> bytes:
        self.paths.add(path.strip("/"))
        return self.inner.read(path)

    def exists(self, path: str) -> bool:
        self.paths.add(path.strip("/"))
        return self.inner.exists(path)

    def is_dir(self, path: str) -> bool:
        self.paths.add(path.strip("/"))
        return self.inner.is_dir(path)

    def walk(self, path: str) -> Iterator[str]:
        self.paths.add(path.strip("/"))
        return self.inner.walk(path)

    def tree_id(self, path: str) -> str | None:
        return self.inner.tree_id(path)


def _fingerprint(app: AppSpec, system: SystemSpec) -> str:
    # The repr lists every field, nested specs included, and needs no serializer.
    body = f"{CACHE_FORMAT}\n{app!r}\n{sorted(system.targets)}"
    return hashlib.sha256(body.encode()).hexdigest()


def _ids(snapshot: Snapshot, paths: Iterable[str]) -> dict[str, str | None]:
    return {p: snapshot.tree_id(p) for p in sorted(paths)}


def _cache_file(state_dir: Path, app: str) -> Path:
    return state_dir / "cache" / "render" / f"{app}.pickle"


def _read_entry(path: Path | None, fingerprint: str) -> dict[str, Any]:
    """The cache entry of an app, or {} when absent, unreadable or for another spec."""
    if path is None:
        return {}
    entry = load_entry(path)
    return entry if entry.get("fingerprint") == fingerprint else {}


def render_app(snapshot: Snapshot, app: AppSpec, system: SystemSpec,
               state_dir: Path | None = None) -> list[Resource]:
    """Desired resources of one app, from the cache when nothing it read changed."""
    return _render(snapshot, app, system, state_dir, hold=False).everything()


@dataclass
class Rendered:
    """An app's desired resources, where those of plain files that were reused as
    they were may be `held`: not loaded until asked for (`load`, `everything`).
    A sync of a sealed app counts a held unit whose files kept their sealed
    facts without loading it; anything else loads what it needs."""

    resources: list[Resource]
    held: dict[str, FileUnit] = field(default_factory=dict)   # by manifest path
    stamps: dict[str, str] = field(default_factory=dict)     # each unit's stamp, by path

    def load(self, paths: Iterable[str]) -> None:
        """Load the held units at `paths` into `resources`."""
        for path in list(paths):
            if path in self.held:
                self.resources.extend(self.held.pop(path).resources)

    def everything(self) -> list[Resource]:
        self.load(list(self.held))
        return self.resources


def _render(snapshot: Snapshot, app: AppSpec, system: SystemSpec, state_dir: Path | None,
            *, hold: bool) -> Rendered:
    fingerprint = _fingerprint(app, system)
    cache = _cache_file(state_dir, app.name) if state_dir else None
    entry = _read_entry(cache, fingerprint)
    if app.renderer == "plain":
        # Each file's unit is pickled on its own: a one-file commit re-pickles one.
        packed: dict[str, bytes] = entry.get("units", {})
        units = _unpacked(entry)
        done = render_plain_files(snapshot, app, units, hold=hold)
        # A held unit was checked when it was built: the fingerprint covers the targets.
        _check_targets(done.resources, app, system)
        written = done.changed | done.noted
        if cache is not None and (written or done.units.keys() != units.keys()):
            saved = {"fingerprint": fingerprint, "units": {
                path: packed[path] if path not in written and path in packed
                else pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL)
                for path, unit in done.units.items()}}
            save_entry(cache, saved)
            saved[_UNPACKED] = done.units   # in memory only: the agent's next pass reuses them
        stamps = {path: unit.stamp for path, unit in done.units.items() if unit.stamp}
        return Rendered(done.resources, done.held, stamps)
    if "ids" in entry and _ids(snapshot, entry["ids"]) == entry["ids"]:
        cached: list[Resource] = entry["resources"]
        return Rendered(cached)
    from gitward.providers import Kinds
    from gitward.renderers import renderer_for
    from gitward.renderers.build import to_resources

    log = _ReadLog(snapshot)
    documents = renderer_for(app.renderer).render(log, app)
    resources = to_resources(documents, app, Kinds())
    _check_targets(resources, app, system)
    if cache is not None:
        # Every path read counts on its own as well as through its directory: a
        # symlink inside the app keeps the directory's id when its target changes.
        save_entry(cache, {"fingerprint": fingerprint, "resources": resources,
                            "ids": _ids(snapshot, {*app.watched_paths, *log.paths})})
    return Rendered(resources)


_UNPACKED = "_unpacked"


def _unpacked(entry: dict[str, Any]) -> dict[str, FileUnit]:
    """The units of a cache entry, unpickled once per entry read (or written)."""
    if _UNPACKED not in entry:
        try:
            units = {path: pickle.loads(data) for path, data in entry.get("units", {}).items()}
        except (pickle.PickleError, EOFError, AttributeError, ImportError, TypeError,
                ValueError):
            units = {}   # written by another gitward: render again
        entry[_UNPACKED] = units
    found: dict[str, FileUnit] = entry[_UNPACKED]
    return found


def _check_targets(resources: list[Resource], app: AppSpec, system: SystemSpec) -> None:
    for res in resources:
        if res.key.target not in system.targets:
            raise ManifestError(res.origin.path if res.origin else app.path,
                                f"{res.key}: target {res.key.target!r} is not declared in "
                                f"gitward.yaml; known: {', '.join(sorted(system.targets))}",
                                line=res.origin.line if res.origin else None)


def render_apps(snapshot: Snapshot, system: SystemSpec, names: Iterable[str],
                state_dir: Path | None = None) -> dict[str, list[Resource]]:
    """Render several apps and refuse keys or claims that two of them share."""
    rendered = {name: render_app(snapshot, system.apps[name], system, state_dir)
                for name in names}
    check_unique(res for resources in rendered.values() for res in resources)
    return rendered


def render_for_sync(snapshot: Snapshot, system: SystemSpec, names: Iterable[str],
                    state_dir: Path | None = None) -> dict[str, Rendered]:
    """`render_apps` for a sync that may count unchanged units without loading
    them: plain files reused as they were are held (see `Rendered`)."""
    rendered = {name: _render(snapshot, system.apps[name], system, state_dir, hold=True)
                for name in names}
    resources = [res for done in rendered.values() for res in done.resources]
    check_unique(resources)
    keys: set[tuple[str, str, str]] = {res.key for res in resources}   # a Key is a tuple
    claims = {(res.key.target, res.claim) for res in resources if res.claim is not None}
    units = [unit for done in rendered.values() for unit in done.held.values()]
    for unit in units:
        if not (keys.isdisjoint(unit.keys) and claims.isdisjoint(unit.claims)):
            # Declared twice: load everything, so that the error names both places.
            check_unique(res for each in rendered.values() for res in each.everything())
            break
        keys.update(unit.keys)
        claims.update(unit.claims)
    return rendered


def input_paths(state_dir: Path, app: str) -> set[str]:
    """Every repository path the app's last cached render read (empty if none)."""
    entry = load_entry(_cache_file(state_dir, app))
    found: set[str] = set(entry.get("ids", {}))
    for unit_path, unit in _unpacked(entry).items():
        found.add(unit_path)
        found.update(unit.read_ids)
        found.update(unit.sources)
    return found


def cross_app_conflicts(rendered: dict[str, list[Resource]]) -> dict[str, str]:
    """App name -> why it clashes with another app (same key, or the same thing
    on a target such as one path), for apps rendered apart from each other."""
    owners: dict[object, tuple[str, Resource]] = {}
    clashes: dict[str, str] = {}
    for name, resources in sorted(rendered.items()):
        for res in resources:
            marks: list[object] = [res.key]
            if res.claim is not None:
                marks.append((res.key.target, res.claim))
            for mark in marks:
                first = owners.setdefault(mark, (name, res))
                if first[0] != name:
                    what = str(res.key) if isinstance(mark, Key) else res.claim
                    message = (f"{what} is declared by app {first[0]} ({first[1].origin}) and "
                               f"by app {name} ({res.origin}); keep it in one app")
                    clashes.setdefault(first[0], message)
                    clashes.setdefault(name, message)
    return clashes
