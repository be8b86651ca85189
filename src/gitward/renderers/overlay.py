"""The overlay renderer: a base directory, patched by an overlay directory.

Like Kustomize's strategic merges, but with the simpler JSON Merge Patch
rules (RFC 7386), so no kind needs patch metadata. The app's ``base`` holds
the shared manifests, its ``path`` the overlay for this environment. Each
overlay document is matched to a base document by ``kind`` and
``metadata.name``, and its ``gitward/patch`` annotation says what to do:

- ``merge`` (the default): mappings merge key by key, ``null`` removes a key,
  lists and scalars replace. A File's content (``source``, ``content``,
  ``content_base64``) is replaced as a whole.
- ``replace``: the overlay document replaces the base document.
- ``delete``: the base document is dropped (an error if there is none).

An overlay document with no match in the base is added. With ``template:
true`` on the app, base and overlay are rendered through Jinja with the values
first, as by the jinja renderer. A patched document carries the overlay's file
and line as its origin.

>>> merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": 4}})
{'b': {'c': 4, 'd': 3}}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gitward.core.document import Document
from gitward.core.errors import ManifestError
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec
from gitward.renderers.content import CONTENT_FIELDS, resolve_all
from gitward.renderers.jinja import template_loader
from gitward.renderers.tree import (
    MANIFEST_SUFFIXES,
    TEMPLATE_SUFFIXES,
    FileLoader,
    load_files,
    manifest_files,
    manifests,
    referenced_sources,
)
from gitward.renderers.values import template_context
from gitward.renderers.yaml_load import field_line, load_documents

__all__ = ["PATCH_ANNOTATION", "OverlayRenderer", "apply_overlay", "merge_patch"]

PATCH_ANNOTATION = "gitward/patch"
PATCH_MODES = ("merge", "replace", "delete")


class OverlayRenderer:
    """Renders ``renderer: overlay`` apps."""

    def render(self, snapshot: Snapshot, app: AppSpec) -> list[Document]:
        if not app.base:
            raise ManifestError(f"app {app.name}", "renderer overlay needs base: the "
                                                   "directory the overlay patches")
        context = template_context(snapshot, app) if app.template else None
        load: FileLoader = template_loader(context) if context is not None else load_documents
        suffixes = TEMPLATE_SUFFIXES if app.template else MANIFEST_SUFFIXES
        base_paths = manifest_files(snapshot, app, app.base, suffixes)
        overlay_paths = manifest_files(snapshot, app, app.path, suffixes)
        base_files = load_files(snapshot, _without_nested(base_paths, app.base, app.path), load)
        overlay_files = load_files(snapshot, _without_nested(overlay_paths, app.path, app.base),
                                   load)
        sources = referenced_sources([*base_files, *overlay_files])
        base = resolve_all(manifests(base_files, sources), snapshot, app, context)
        overlay = resolve_all(manifests(overlay_files, sources), snapshot, app, context)
        return apply_overlay(base, overlay)


def apply_overlay(base: Sequence[Document], overlay: Sequence[Document]) -> list[Document]:
    """Base documents patched, replaced or deleted by overlay documents, in
    base order, then the overlay documents that matched nothing."""
    result: list[Document | None] = list(base)
    position = {}
    for base_index, base_doc in reversed(list(enumerate(base))):  # the first duplicate wins
        base_identity = _identity(base_doc)
        if base_identity is not None:
            position[base_identity] = base_index
    added: list[Document] = []
    for doc in overlay:
        mode, patch = _patch_mode(doc)
        identity = _identity(patch)
        index = position.get(identity) if identity is not None else None
        target = result[index] if index is not None else None
        if index is None or target is None:
            if mode == "delete":
                raise _annotation_error(doc, f"delete: the base has no {_describe(identity)} "
                                             "to delete; remove this document")
            added.append(patch)
        elif mode == "delete":
            result[index] = None
        elif mode == "replace":
            result[index] = patch
        else:
            result[index] = replace(patch, data=_merged(target.data, patch.data))
    return [doc for doc in result if doc is not None] + added


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: `patch` applied to `target` (neither changed)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _merged(base: Any, patch: Any) -> Any:
    """`merge_patch`, except that new content replaces all old content fields
    (a source must not leave base64 content of the old file behind)."""
    base_spec = base.get("spec") if isinstance(base, dict) else None
    patch_spec = patch.get("spec") if isinstance(patch, dict) else None
    if (isinstance(base_spec, dict) and isinstance(patch_spec, dict)
            and any(name in patch_spec for name in CONTENT_FIELDS)):
        kept = {key: value for key, value in base_spec.items() if key not in CONTENT_FIELDS}
        base = {**base, "spec": kept}
    return merge_patch(base, patch)


def _identity(doc: Document) -> tuple[str, str] | None:
    """(kind, metadata.name) of a document that has both."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    kind, name = data.get("kind"), data["metadata"].get("name")
    return (kind, name) if isinstance(kind, str) and isinstance(name, str) else None


def _describe(identity: tuple[str, str] | None) -> str:
    return f"{identity[0]}/{identity[1]}" if identity else "document of this kind and name"


def _patch_mode(doc: Document) -> tuple[str, Document]:
    """How `doc` patches its base document, and `doc` without the annotation."""
    metadata = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    if not isinstance(metadata, dict):
        return "merge", doc
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict) or PATCH_ANNOTATION not in annotations:
        return "merge", doc
    mode = annotations[PATCH_ANNOTATION]
    if mode not in PATCH_MODES:
        raise _annotation_error(doc, f"{mode!r} is not a patch mode; write one of "
                                     f"{', '.join(PATCH_MODES)}")
    kept = {key: value for key, value in annotations.items() if key != PATCH_ANNOTATION}
    data = {**doc.data, "metadata": {**metadata, "annotations": kept}}
    return mode, replace(doc, data=data)


def _annotation_error(doc: Document, message: str) -> ManifestError:
    field_path = ["metadata", "annotations", PATCH_ANNOTATION]
    return ManifestError(doc.path, message, line=field_line(doc, field_path),
                         field=".".join(field_path))


def _without_nested(paths: list[str], own: str, other: str) -> list[str]:
    """`paths` (the files of directory `own`) without those of directory
    `other` when it lies inside `own`: base and overlay may nest."""
    own_prefix, other_prefix = _prefix(own), _prefix(other)
    if other_prefix == own_prefix or not other_prefix.startswith(own_prefix):
        return paths
    return [path for path in paths if not path.startswith(other_prefix)]


def _prefix(directory: str) -> str:
    stripped = directory.strip("/")
    return f"{stripped}/" if stripped else ""
