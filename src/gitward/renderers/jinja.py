"""The jinja renderer: manifests as Jinja2 templates, filled with the app's values.

Every ``*.yaml``, ``*.yml``, ``*.yaml.j2`` and ``*.yml.j2`` file under the
app's path, in sorted order, is rendered in the sandbox with the app's values
(values.py: values files deep-merged in order, then ``vars``, plus ``app`` and
``revision``) and the result loaded as YAML. An undefined variable or a syntax
error is a `TemplateError` naming the template and its line.

Lines that later errors name (a bad field, a duplicate resource) are lines of
the rendered text; they match the template's own lines as long as the
template does not add or remove lines before them (loops and multi-line
blocks do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.document import Document
from gitward.core.errors import ManifestError
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec
from gitward.renderers.content import resolve_all
from gitward.renderers.tree import (
    TEMPLATE_SUFFIXES,
    FileLoader,
    load_files,
    manifest_files,
    manifests,
    referenced_sources,
)
from gitward.renderers.values import render_template, template_context
from gitward.renderers.yaml_load import decode_text, load_documents

__all__ = ["JinjaRenderer", "template_loader"]


class JinjaRenderer:
    """Renders ``renderer: jinja`` apps."""

    def render(self, snapshot: Snapshot, app: AppSpec) -> list[Document]:
        context = template_context(snapshot, app)
        paths = manifest_files(snapshot, app, app.path, TEMPLATE_SUFFIXES)
        files = load_files(snapshot, paths, template_loader(context))
        return resolve_all(manifests(files, referenced_sources(files)), snapshot, app, context)


def template_loader(context: Mapping[str, Any]) -> FileLoader:
    """A file loader that renders each file with `context`, then loads the YAML."""
    def load_template(data: bytes, path: str) -> list[Document]:
        rendered = render_template(decode_text(data, path), path, context)
        try:
            return load_documents(rendered.encode("utf-8"), path)
        except ManifestError as err:
            raise _in_rendered_text(err) from None
    return load_template


def _in_rendered_text(err: ManifestError) -> ManifestError:
    """`err`, saying its line is one of the template's output."""
    return ManifestError(err.path, f"{err.message} (in the text the template rendered)",
                         line=err.line, field=err.field)
