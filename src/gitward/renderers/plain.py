"""The plain renderer: an app's YAML manifests, exactly as committed.

Every ``*.yaml``/``*.yml`` file under the app's path, in sorted order, is
loaded safely (yaml_load.py); ``source:`` files are read into their
documents (content.py). Nothing else changes.
"""

from __future__ import annotations

from gitward.core.document import Document
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec
from gitward.renderers.content import resolve_all
from gitward.renderers.tree import (
    MANIFEST_SUFFIXES,
    load_files,
    manifest_files,
    manifests,
    referenced_sources,
)
from gitward.renderers.yaml_load import load_documents

__all__ = ["PlainRenderer"]


class PlainRenderer:
    """Renders ``renderer: plain`` apps."""

    def render(self, snapshot: Snapshot, app: AppSpec) -> list[Document]:
        paths = manifest_files(snapshot, app, app.path, MANIFEST_SUFFIXES)
        files = load_files(snapshot, paths, load_documents)
        return resolve_all(manifests(files, referenced_sources(files)), snapshot, app)
