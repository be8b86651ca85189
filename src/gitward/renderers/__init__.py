"""Renderers: from a snapshot of the repository to an app's desired resources.

Rendering is the second step of the data flow (Source → **render** → plan →
apply → record) and a pure function of a `Snapshot` and an `AppSpec`: no
network, no clock, no live state, so it can be cached by Git tree ids and
tested with `gitward.testing.FakeSnapshot`. It happens in three steps:

1. A renderer turns the app's files into `Document`s: ``plain`` loads YAML as
   committed, ``jinja`` renders templates with the app's values first,
   ``overlay`` patches a base directory with an overlay directory. Every
   file is parsed by `yaml_load` (safe loader, size/alias/depth limits) and
   ``spec.source`` files are read into their documents by `content`.
2. `build.to_resources` checks each document against the manifest envelope
   and its kind's spec model, reads gitward's annotations and returns
   `Resource`s keyed by kind, target and name.
3. The engine plans with them; a renderer never prunes or applies anything,
   and any error here stops the sync before a change is made.

Renderers register through the ``gitward.renderers`` entry points, the
built-ins too, so a package can add one by name; `renderer_for` finds them.

>>> renderer_for("plain").render(FakeSnapshot({"app/a.yaml": "..."}), app)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from functools import cache

from gitward.core.errors import GitwardError
from gitward.core.seams import Renderer

__all__ = ["BUILTIN_RENDERERS", "renderer_for"]

ENTRY_POINT_GROUP = "gitward.renderers"
BUILTIN_RENDERERS = {
    "plain": "gitward.renderers.plain:PlainRenderer",
    "jinja": "gitward.renderers.jinja:JinjaRenderer",
    "overlay": "gitward.renderers.overlay:OverlayRenderer",
}


def renderer_for(name: str) -> Renderer:
    """The renderer registered as `name` (``plain``, ``jinja``, ``overlay``, ...)."""
    return _renderer_class(name)()


@cache
def _renderer_class(name: str) -> type[Renderer]:
    from importlib.metadata import entry_points

    registered = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    if name in registered:
        found: type[Renderer] = registered[name].load()
        return found
    if name in BUILTIN_RENDERERS:  # running from a tree without installed metadata
        module_name, _, class_name = BUILTIN_RENDERERS[name].partition(":")
        builtin: type[Renderer] = getattr(importlib.import_module(module_name), class_name)
        return builtin
    known = ", ".join(sorted({*registered, *BUILTIN_RENDERERS}))
    raise GitwardError(f"unknown renderer {name!r}; known renderers: {known}")
