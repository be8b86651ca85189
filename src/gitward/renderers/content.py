"""File content kept in its own file of the repository: ``spec.source``.

A manifest can say where its content is instead of inlining it::

    spec:
      path: /etc/nginx/nginx.conf
      source: nginx.conf        # next to this manifest; "/files/x" = from the repo root
      template: true            # optional: render it with the app's values first

Every renderer calls `resolve_sources` on each document before it becomes a
`Resource`: the file is read from the same snapshot, rendered if asked, and put
into ``spec.content`` (UTF-8 text) or ``spec.content_base64`` (anything else).
``source`` stays in the spec so that plans show where content came from;
``template`` is dropped, having done its work.

Paths may not leave the repository. Files used as a source are content, not
manifests, even when their name ends in ``.yaml``: `source_files` finds them
so that renderers can leave them out of the manifests they load.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gitward.core.document import Document
from gitward.core.errors import ManifestError, PathEscapeError
from gitward.core.seams import Snapshot

if TYPE_CHECKING:
    from gitward.core.system import AppSpec

__all__ = ["CONTENT_FIELDS", "resolve_all", "resolve_sources", "source_files", "source_path"]

# The spec fields that hold a File's content; a new one replaces all of them.
CONTENT_FIELDS = ("source", "content", "content_base64")


def resolve_sources(doc: Document, snapshot: Snapshot, app: AppSpec,
                    context: Mapping[str, Any]) -> Document:
    """`doc` with its ``spec.source`` file read into ``spec.content`` or
    ``spec.content_base64``; `doc` itself when it has no source.

    `context` is what a ``template: true`` source renders with (see
    `gitward.renderers.values.template_context`).
    """
    spec = _spec_of(doc)
    if spec is None or "source" not in spec:
        return doc
    source = spec["source"]
    if not isinstance(source, str) or not source.strip():
        raise _field_error(doc, "source", "must be a repository path, e.g. files/motd or "
                                          "/shared/motd")
    for inline in ("content", "content_base64"):
        if inline in spec:
            raise _field_error(doc, inline, "set either source or content, not both")
    template = spec.get("template", False)
    if not isinstance(template, bool):
        raise _field_error(doc, "template", "must be true or false")
    path = _checked_source_path(doc, source)
    data = _read_source(doc, snapshot, app, path)
    content = dict(spec)
    content.pop("template", None)
    content.update(_content_fields(data, path, context if template else None))
    return replace(doc, data={**doc.data, "spec": content})


def resolve_all(documents: Iterable[Document], snapshot: Snapshot, app: AppSpec,
                context: Mapping[str, Any] | None = None) -> list[Document]:
    """`resolve_sources` for each document. Without a `context`, the app's
    values are loaded only if some source is a template."""
    documents = list(documents)
    if context is None:
        templated = any(spec.get("template") is True
                        for spec in map(_spec_of, documents) if spec and "source" in spec)
        context = {}
        if templated:  # Jinja2 is loaded only for templated sources
            from gitward.renderers.values import template_context

            context = template_context(snapshot, app)
    prefetch = getattr(snapshot, "prefetch", None)   # a Git snapshot reads them in one batch
    if prefetch is not None:
        prefetch(source_files(documents))
    return [resolve_sources(doc, snapshot, app, context) for doc in documents]


def plain_source(doc: Document) -> str | None:
    """The repository path `doc` copies its content from as is (no template), if any:
    a change of that file alone changes only the content of `doc`'s resource."""
    spec = _spec_of(doc)
    if spec is None or spec.get("template", False) is not False:
        return None
    return source_path(doc)


def content_fields(data: bytes, path: str) -> dict[str, str]:
    """The content fields a File gets from a plain (not templated) source's bytes."""
    return _content_fields(data, path, None)


def source_path(doc: Document) -> str | None:
    """The repository path `doc` takes its content from, if it names a valid one."""
    spec = _spec_of(doc)
    source = spec.get("source") if spec is not None else None
    if not isinstance(source, str) or "\0" in source:
        return None
    return _normalized(doc.path, source)


def source_files(documents: Iterable[Document]) -> set[str]:
    """Every repository path used as a source by one of `documents`."""
    paths = (source_path(doc) for doc in documents)
    return {path for path in paths if path is not None}


def _spec_of(doc: Document) -> dict[str, Any] | None:
    if not isinstance(doc.data, dict):
        return None
    spec = doc.data.get("spec")
    return spec if isinstance(spec, dict) else None


def _normalized(manifest_path: str, source: str) -> str | None:
    """`source` as a path from the repository root, None if it leaves it."""
    if source.startswith("/"):
        joined = source.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(manifest_path), source)
    path = posixpath.normpath(joined) if joined else "."
    if path == "." or path == ".." or path.startswith("../"):
        return None
    return path


def _checked_source_path(doc: Document, source: str) -> str:
    if "\0" in source:
        raise _field_error(doc, "source", "contains a NUL byte")
    path = _normalized(doc.path, source)
    if path is None:
        from gitward.renderers.yaml_load import field_line  # YAML only for the error

        line = field_line(doc, ["spec", "source"])
        where = f"{doc.path}:{line}" if line else doc.path
        raise PathEscapeError(f"{where}: spec.source {source!r} leaves the repository; "
                              "name a file inside it (a leading / means the repository root)")
    return path


def _read_source(doc: Document, snapshot: Snapshot, app: AppSpec, path: str) -> bytes:
    try:
        return snapshot.read(path)
    except (FileNotFoundError, IsADirectoryError):
        what = "is a directory" if snapshot.is_dir(path) else "does not exist"
        raise _field_error(doc, "source", f"{path} {what} at revision "
                                          f"{snapshot.revision[:7]} (app {app.name}); "
                                          "name a file of the repository") from None


def _content_fields(data: bytes, path: str, context: Mapping[str, Any] | None
                    ) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if context is not None:
            raise ManifestError(path, "a template: true source must be UTF-8 text; "
                                      "drop template or convert the file") from None
        return {"content_base64": base64.b64encode(data).decode("ascii")}
    if context is not None:
        from gitward.renderers.values import render_template

        text = render_template(text, path, context)
    return {"content": text}


def _field_error(doc: Document, name: str, message: str) -> ManifestError:
    from gitward.renderers.yaml_load import field_line  # YAML only for the error

    return ManifestError(doc.path, message, line=field_line(doc, ["spec", name]),
                         field=f"spec.{name}")

