"""Which files of an app are manifests, and loading them all.

Every renderer starts the same way: list the ``*.yaml``/``*.yml`` files (and
for templates ``*.yaml.j2``/``*.yml.j2``) under a directory of the snapshot,
in sorted order, and load each into `Document`s its own way (as is, or
through Jinja). Two kinds of files are left out, even when their names fit:
the app's values files, and files some manifest uses as ``source:`` (content
for a File, such as a ``config.yaml`` deployed as is). A file that fails to
load is only an error once it is known not to be such a source.

After this come `resolve_sources` (content.py) and, for overlays, patching;
then `build.to_resources` turns documents into `Resource`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gitward.core.document import Document
from gitward.core.errors import ManifestError
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec

__all__ = ["MANIFEST_SUFFIXES", "TEMPLATE_SUFFIXES", "FileLoader", "LoadedFile", "load_files",
           "manifest_files", "manifests", "referenced_sources"]

MANIFEST_SUFFIXES = (".yaml", ".yml")
TEMPLATE_SUFFIXES = (*MANIFEST_SUFFIXES, ".yaml.j2", ".yml.j2")

FileLoader = Callable[[bytes, str], list[Document]]  # (data, path), like load_documents


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """One manifest file: its documents, or why they could not be loaded."""

    path: str
    documents: Sequence[Document] = ()
    error: ManifestError | None = None


def manifest_files(snapshot: Snapshot, app: AppSpec, directory: str,
                   suffixes: tuple[str, ...]) -> list[str]:
    """Files under `directory` whose names end in one of `suffixes`, sorted;
    `directory` may also name a single file."""
    if not snapshot.exists(directory):
        from gitward.renderers.values import short_revision  # Jinja2 only on this error

        raise ManifestError(f"app {app.name}",
                            f"path {directory} does not exist at revision "
                            f"{short_revision(snapshot)}; check the app's path in gitward.yaml")
    if not snapshot.is_dir(directory):
        return [directory.strip("/")]
    values_files = {path.strip("/") for path in app.values}
    return [path for path in snapshot.walk(directory)
            if path.endswith(suffixes) and path not in values_files]


def load_files(snapshot: Snapshot, paths: Iterable[str], load: FileLoader) -> list[LoadedFile]:
    """Load each file with `load`, keeping errors for `manifests` to judge."""
    loaded = []
    for path in paths:
        try:
            loaded.append(LoadedFile(path, load(snapshot.read(path), path)))
        except ManifestError as err:
            loaded.append(LoadedFile(path, error=err))
    return loaded


def manifests(files: Iterable[LoadedFile], sources: set[str]) -> list[Document]:
    """The documents of `files` that are not used as `sources`; raises the
    first load error of a file that is not a source."""
    documents: list[Document] = []
    for file in files:
        if file.path in sources:
            continue
        if file.error is not None:
            raise file.error
        documents.extend(file.documents)
    return documents


def referenced_sources(files: Iterable[LoadedFile]) -> set[str]:
    """Every path that a document of `files` uses as its ``source:``."""
    from gitward.renderers.content import source_files

    return source_files(doc for file in files for doc in file.documents)
