"""Per-file, per-document rendering of plain apps, so a one-file commit costs one file.

A plain app's manifest files are independent: each yields its resources from
its own bytes plus the ``source:`` files it names (and, for templated
sources, the app's values). So each file is a cache unit keyed by its Git
blob id, and inside it each document is keyed by its data and the ids of
what it reads:

- a commit that changes only a plain (not templated) ``source:`` file gives
  the one resource that uses it the new bytes (through its kind's provider,
  already validated); the manifest is not even parsed;
- a commit that edits a manifest file parses that file again, and only its
  documents that are new or different are validated (the others keep their
  resources, with their new line numbers);
- everything else comes from the cache.

Knowing that a file read (or the manifest itself) is unchanged takes no
lookup of its own when its directory kept its Git id (a tree's id covers
every entry in it), unless a symlink leads to that directory or sits in it:
a symlink keeps its id when its target changes. So a one-file commit looks
up the files of the one directory it touched, not those of the whole app;
a unit found valid through lookups notes the directories' new ids, so that
lookups do not pile up over commits.

Whole-app rules (duplicate keys, claims) are checked on the combined result by
the planner as always.
"""

from __future__ import annotations

import hashlib
import pickle
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from gitward.core.document import Document
from gitward.core.errors import ManifestError
from gitward.core.model import Origin, Resource
from gitward.core.seams import Snapshot

if TYPE_CHECKING:
    from gitward.core.system import AppSpec

__all__ = ["DocEntry", "FileUnit", "PlainRender", "render_plain_files"]


@dataclass
class DocEntry:
    """What one document gave: keyed by a hash of its data and the ids it read."""

    key: str
    read_ids: dict[str, str | None]      # its source and the app's values files
    resources: list[Resource]
    plain_source: str | None = None      # a source copied as is: new bytes, same spec


def _key(doc: Document) -> str:
    return hashlib.sha256(repr(doc.data).encode()).hexdigest()[:32]


class FileUnit:
    """What one manifest file gave at one blob id.

    Pickled (in the render cache), a unit keeps its entries as bytes of their
    own, unpickled only when they are asked for, and beside them what a sync
    needs to know of an unchanged unit without them: what its entries read,
    its keys and claims, whether any resource depends on another, and its
    `stamp`, new each time its entries are built. A sync of a sealed app
    counts the resources of a unit that kept the stamp it was sealed with, and
    whose files kept their facts, without loading them (`gitward.engine.seal`).
    """

    def __init__(self, blob: str | None, *, entries: list[DocEntry] | None = None,
                 built_for: str | None = None, dirs: dict[str, str] | None = None) -> None:
        self.blob = blob
        self.sources: frozenset[str] = frozenset()   # paths its documents use as source:
        self.documents: list[Document] | None = None   # only while rendering; not cached
        self.built_for = built_for              # the blob `entries` were built from
        self.error: ManifestError | None = None
        # Directories holding the manifest or files the entries read, by Git id,
        # where the snapshot can vouch for a directory (no symlink to it or in
        # it): while one keeps its id, so does each file in it: no lookup.
        self.dirs = dirs
        self.stamp: str | None = None           # new each time the entries are built
        self._packed: bytes | None = None
        self._entries: list[DocEntry] | None = None
        self._facts: _UnitFacts = _UnitFacts.of(None)
        self.entries = entries

    @property
    def entries(self) -> list[DocEntry] | None:
        """One per document, None until built."""
        if self._packed is not None:
            self._entries, self._packed = pickle.loads(self._packed), None
        return self._entries

    @entries.setter
    def entries(self, entries: list[DocEntry] | None) -> None:
        self._entries, self._packed = entries, None
        self._facts = _UnitFacts.of(entries)

    def __reduce__(self) -> tuple[Any, ...]:
        # A plain tuple, rebuilt by a module function: a large app's cache holds
        # tens of thousands of units, and each one read back must cost little.
        packed = self._packed if self._packed is not None else pickle.dumps(
            self._entries, protocol=pickle.HIGHEST_PROTOCOL)
        return (_unit, (self.blob, self.sources, self.built_for, self.error, self.dirs,
                        self.stamp, packed, tuple(self._facts)))

    @property
    def loaded(self) -> bool:
        """Whether the entries are in memory (not still bytes from the cache)."""
        return self._packed is None

    @property
    def resources(self) -> list[Resource]:
        return [res for entry in self.entries or () for res in entry.resources]

    @property
    def read_ids(self) -> dict[str, str | None]:
        return self._facts.read_ids

    @property
    def keys(self) -> tuple[tuple[str, str, str], ...]:
        """The keys of its resources, as plain tuples (equal to their `Key`s)."""
        return self._facts.keys

    @property
    def claims(self) -> tuple[tuple[str, str], ...]:
        """(target, claim) of each of its resources that claims something."""
        return self._facts.claims

    @property
    def has_dependencies(self) -> bool:
        return self._facts.has_dependencies

    def vouched(self, snapshot: Snapshot) -> dict[str, str | None]:
        """The ids the entries read that need no lookup in `snapshot`: those of
        files in directories that kept their id (cost follows change)."""
        dir_id = getattr(snapshot, "dir_id", None)
        if not self.dirs or dir_id is None:
            return {}
        held = {path for path, tree in self.dirs.items() if dir_id(path) == tree}
        return {path: blob for path, blob in self.read_ids.items()
                if path.rpartition("/")[0] in held}

    def still_valid(self, snapshot: Snapshot, known: Mapping[str, str | None]) -> bool:
        """Whether every file the entries read keeps its id (`known`: ids vouched
        for, taken from `read_ids`)."""
        if self.read_ids.keys() <= known.keys():
            return self._facts.built   # every one vouched for (in C, not one by one)
        return self._facts.built and all(
            path in known or snapshot.tree_id(path) == blob
            for path, blob in self.read_ids.items())

    def note_dirs(self, snapshot: Snapshot, path: str) -> None:
        """Remember which directories vouch for what the entries read, and for the
        manifest itself at `path`."""
        plain_dirs = getattr(snapshot, "plain_dirs", None)
        self.dirs = plain_dirs([*self.read_ids, path]) if plain_dirs is not None else None

    def same_blob(self, snapshot: Snapshot, path: str) -> bool:
        """Whether the manifest at `path` is known to keep this unit's blob because
        its directory kept its id (no lookup of its own)."""
        dir_id = getattr(snapshot, "dir_id", None)
        parent = path.rpartition("/")[0]
        return bool(self.dirs and dir_id is not None and parent in self.dirs
                    and dir_id(parent) == self.dirs[parent])


def _unit(blob: str | None, sources: frozenset[str], built_for: str | None,
          error: ManifestError | None, dirs: dict[str, str] | None, stamp: str | None,
          packed: bytes, facts: tuple[Any, ...]) -> FileUnit:
    """A `FileUnit` read back from the cache, its entries still pickled."""
    unit = FileUnit.__new__(FileUnit)
    unit.blob, unit.sources, unit.built_for, unit.error = blob, sources, built_for, error
    unit.dirs, unit.stamp, unit.documents = dirs, stamp, None
    unit._packed, unit._entries = packed, None
    unit._facts = _UnitFacts._make(facts)
    return unit


class _UnitFacts(NamedTuple):
    """What is known of a unit's entries without them (kept beside their bytes)."""

    built: bool
    read_ids: dict[str, str | None]
    keys: tuple[tuple[str, str, str], ...]
    claims: tuple[tuple[str, str], ...]
    has_dependencies: bool

    @classmethod
    def of(cls, entries: list[DocEntry] | None) -> _UnitFacts:
        resources = [res for entry in entries or () for res in entry.resources]
        return cls(entries is not None,
                   {path: blob for entry in entries or () for path, blob
                    in entry.read_ids.items()},
                   tuple((res.key.kind, res.key.target, res.key.name) for res in resources),
                   tuple((res.key.target, res.claim) for res in resources
                         if res.claim is not None),
                   any(res.depends_on for res in resources))


def render_plain_files(snapshot: Snapshot, app: AppSpec, units: dict[str, FileUnit],
                       *, hold: bool = False) -> PlainRender:
    """Resources of a plain app, reusing `units` from the last render where valid.

    With `hold`, a unit reused as it was (and whose resources depend on
    nothing) is not loaded: it is returned in `held` instead of having its
    resources in `resources`."""
    # Parsing, templating and validation are imported only when a file changed:
    # a sync of an unchanged app should not pay for YAML, Jinja2 or pydantic.
    from gitward.renderers.tree import MANIFEST_SUFFIXES, manifest_files

    fresh: dict[str, FileUnit] = {}
    changed: set[str] = set()
    for path in manifest_files(snapshot, app, app.path, MANIFEST_SUFFIXES):
        old = units.get(path)
        if old is not None and old.same_blob(snapshot, path):
            fresh[path] = old
            continue
        blob = snapshot.tree_id(path)
        if old is not None and old.blob == blob:
            fresh[path] = old
            continue
        # The old entries are candidates: documents the edit left alone keep theirs.
        unit = FileUnit(blob, entries=old.entries if old else None,
                        built_for=old.built_for if old else None,
                        dirs=old.dirs if old else None)
        changed.add(path)
        from gitward.renderers.content import source_files
        from gitward.renderers.yaml_load import load_documents

        try:
            unit.documents = load_documents(snapshot.read(path), path)
            unit.sources = frozenset(source_files(unit.documents))
        except ManifestError as error:
            unit.error = error   # an error only if no manifest uses this file as a source
        fresh[path] = unit
    used_as_source = set().union(*(unit.sources for unit in fresh.values()))
    values = {path: snapshot.tree_id(path) for path in app.values}
    resources: list[Resource] = []
    held: dict[str, FileUnit] = {}
    noted: set[str] = set()
    for path, unit in fresh.items():
        if path in used_as_source:
            continue
        if unit.error is not None:
            raise unit.error
        known = unit.vouched(snapshot)
        if unit.built_for != unit.blob or not unit.still_valid(snapshot, known):
            changed.add(path)
            _build(snapshot, app, path, unit, values, known)
        elif len(known) < len(unit.read_ids):
            # Valid, through lookups: the directories that moved vouch for it next time.
            unit.note_dirs(snapshot, path)
            noted.add(path)
        unit.documents = None   # parsed again if the file changes: not worth its memory
        if hold and path not in changed and not unit.has_dependencies:
            held[path] = unit
        else:
            resources.extend(unit.resources)
    return PlainRender(resources, fresh, changed, held, noted)


class PlainRender(NamedTuple):
    """What `render_plain_files` gave."""

    resources: list[Resource]
    units: dict[str, FileUnit]      # every unit, by manifest path (for the cache)
    changed: set[str]               # paths of the units that changed (the cache needs writing)
    held: dict[str, FileUnit]       # units reused as they were, not loaded (with `hold`)
    noted: set[str]                 # units unchanged but with directories noted anew


def _build(snapshot: Snapshot, app: AppSpec, path: str, unit: FileUnit,
           values: Mapping[str, str | None], known: Mapping[str, str | None]) -> None:
    """(Re)build `unit`'s entries, validating only documents that are new or read
    something that changed (`known`: ids that need no lookup)."""
    unit.stamp = secrets.token_hex(8)   # its resources may change: no seal speaks for them
    if unit.documents is None and unit.built_for == unit.blob and \
            _refresh_sources(snapshot, unit, values, known):
        unit.note_dirs(snapshot, path)
        return   # the manifest is as it was; only plain sources changed
    from gitward.renderers.content import plain_source, source_path

    if unit.documents is None:
        from gitward.renderers.yaml_load import load_documents

        unit.documents = load_documents(snapshot.read(path), path)
    previous = {entry.key: entry for entry in unit.entries or ()}
    entries: list[DocEntry | None] = []
    todo: list[tuple[int, Document, str, dict[str, str | None]]] = []
    for index, doc in enumerate(unit.documents):
        key, source, plain = _key(doc), source_path(doc), plain_source(doc)
        ids = _read_ids(snapshot, values, source, known)
        entry = previous.get(key)
        if entry is not None and entry.read_ids == ids:
            entries.append(DocEntry(key, ids, [_at(res, doc) for res in entry.resources], plain))
        elif entry is not None and (fresh := _new_content(snapshot, entry, ids, plain)):
            entries.append(DocEntry(key, ids, [_at(fresh, doc)], plain))
        else:
            entries.append(None)
            todo.append((index, doc, key, ids))
    if todo:
        from gitward.providers import Kinds
        from gitward.renderers.build import to_resources
        from gitward.renderers.content import resolve_all

        resolved = resolve_all([doc for _, doc, _, _ in todo], snapshot, app)
        built = to_resources(resolved, app, Kinds())
        for (index, doc, key, ids), res in zip(todo, built, strict=True):
            entries[index] = DocEntry(key, ids, [res], plain_source(doc))
    unit.entries = [entry for entry in entries if entry is not None]
    unit.built_for = unit.blob
    unit.note_dirs(snapshot, path)
    if todo:
        from gitward.core.plan import check_unique

        check_unique(unit.resources, app=app.name)


def _refresh_sources(snapshot: Snapshot, unit: FileUnit, values: Mapping[str, str | None],
                     known: Mapping[str, str | None]) -> bool:
    """Bring the entries of an unchanged manifest up to date when all that changed
    is the bytes of plain sources; False (nothing changed) when more did."""
    entries: list[DocEntry] = []
    for entry in unit.entries or ():
        source = entry.plain_source
        ids = _read_ids(snapshot, values, source, known)
        if ids == entry.read_ids:
            entries.append(entry)
            continue
        fresh = _new_content(snapshot, entry, ids, source)
        if fresh is None:
            return False
        entries.append(DocEntry(entry.key, ids, [fresh], source))
    unit.entries = entries
    return True


def _new_content(snapshot: Snapshot, entry: DocEntry, ids: Mapping[str, str | None],
                 source: str | None) -> Resource | None:
    """The resource of an unchanged document whose plain ``source:`` file alone
    changed: its old resource with the new bytes, validated already (the kind's
    provider says how, `with_content`). None when anything else changed."""
    if source is None or len(entry.resources) != 1:
        return None
    if {k: v for k, v in entry.read_ids.items() if k != source} != \
            {k: v for k, v in ids.items() if k != source}:
        return None
    from gitward.providers import provider_for_kind

    old = entry.resources[0]
    refresh = getattr(provider_for_kind(old.key.kind), "with_content", None)
    if refresh is None:
        return None
    from gitward.renderers.content import content_fields

    try:
        data = snapshot.read(source)
    except (FileNotFoundError, IsADirectoryError):
        return None   # the full build explains it
    new: Resource = refresh(old, content_fields(data, source))
    return new


def _read_ids(snapshot: Snapshot, values: Mapping[str, str | None], source: str | None,
              known: Mapping[str, str | None]) -> dict[str, str | None]:
    """What one document reads, by Git id: the app's values files and its source
    (from `known` if there, else looked up)."""
    if not source:
        return {**values}
    return {**values, source: known[source] if source in known else snapshot.tree_id(source)}


def _at(res: Resource, doc: Document) -> Resource:
    """`res` with the origin of `doc` (a document moves when one above it changes)."""
    origin = Origin(doc.path, doc.line)
    return res if res.origin == origin else res._replace(origin=origin)
