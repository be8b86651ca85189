"""Per-file rendering of plain apps, so a one-file commit costs one file.

A plain app's manifest files are independent: each yields its resources from
its own bytes plus the ``source:`` files it names (and, for templated
sources, the app's values). So each file is a cache unit keyed by its Git
blob id and the ids of what it read; after a commit that changes one file of
ten thousand, one file is parsed, resolved and validated again and the rest
come from the cache. Whole-app rules (duplicate keys, claims) are checked on
the combined result by the planner as always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitward.core.document import Document
from gitward.core.errors import ManifestError
from gitward.core.model import Resource
from gitward.core.seams import Snapshot

if TYPE_CHECKING:
    from gitward.core.system import AppSpec

__all__ = ["FileUnit", "render_plain_files"]


@dataclass
class FileUnit:
    """What one manifest file gave at one blob id."""

    blob: str | None
    sources: frozenset[str] = frozenset()          # paths its documents use as source:
    resources: list[Resource] | None = None         # None until built
    read_ids: dict[str, str | None] = field(default_factory=dict)  # sources and values read
    error: ManifestError | None = None
    documents: list[Document] | None = None         # only while rendering; not cached

    def still_valid(self, snapshot: Snapshot) -> bool:
        return self.resources is not None and all(
            snapshot.tree_id(path) == blob for path, blob in self.read_ids.items())


def render_plain_files(snapshot: Snapshot, app: AppSpec, units: dict[str, FileUnit]
                       ) -> tuple[list[Resource], dict[str, FileUnit], bool]:
    """Resources of a plain app, reusing `units` from the last render where valid;
    the flag says whether any unit changed (so the cache needs writing)."""
    # Parsing, templating and validation are imported only when a file changed:
    # a sync of an unchanged app should not pay for Jinja2 or pydantic models.
    from gitward.renderers.tree import MANIFEST_SUFFIXES, manifest_files

    fresh: dict[str, FileUnit] = {}
    changed = False
    for path in manifest_files(snapshot, app, app.path, MANIFEST_SUFFIXES):
        blob = snapshot.tree_id(path)
        old = units.get(path)
        if old is not None and old.blob == blob:
            fresh[path] = old
            continue
        unit, changed = FileUnit(blob), True
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
    for path, unit in fresh.items():
        if path in used_as_source:
            continue
        if unit.error is not None:
            raise unit.error
        if not unit.still_valid(snapshot):
            changed = True
            from gitward.providers import Kinds
            from gitward.renderers.build import to_resources
            from gitward.renderers.content import resolve_all
            from gitward.renderers.yaml_load import load_documents

            if unit.documents is None:
                unit.documents = load_documents(snapshot.read(path), path)
            resolved = resolve_all(unit.documents, snapshot, app)
            unit.resources = to_resources(resolved, app, Kinds())
            unit.read_ids = {**values, **{src: snapshot.tree_id(src) for src in unit.sources}}
        unit.documents = None
        assert unit.resources is not None
        resources.extend(unit.resources)
    return resources, fresh, changed or fresh.keys() != units.keys()
