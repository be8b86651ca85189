"""Values and the Jinja2 sandbox that templates render in.

An app's values come from its values files, deep-merged in the order listed
(a later file wins), then its inline ``vars`` (which win last), plus two
names gitward sets itself: ``app`` (the app's name) and ``revision`` (the
commit's SHA). The jinja and overlay renderers render manifests with them;
every renderer renders ``source:`` files marked ``template: true`` with them.

Templates come from Git, so they run in Jinja's immutable sandbox (no access
to Python internals, no mutating values) with strict undefined variables: a
typo in a variable name is an error naming the template file and line, never
an empty string written to a live system.

>>> deep_merge({"db": {"host": "a", "port": 1}}, {"db": {"host": "b"}})
{'db': {'host': 'b', 'port': 1}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache, lru_cache
from types import TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gitward.core.errors import TemplateError, ValuesFileError
from gitward.core.seams import Snapshot
from gitward.core.system import AppSpec
from gitward.renderers.yaml_load import load_documents

__all__ = ["deep_merge", "load_values", "render_template", "short_revision", "template_context",
           "template_environment"]

_TEMPLATE_FILENAME = "<template>"  # what Jinja calls a template made from a string
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")


def short_revision(snapshot: Snapshot) -> str:
    return snapshot.revision[:7]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key, recursively; anything else in `override`
    replaces what `base` has. Neither argument is changed."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def load_values(snapshot: Snapshot, app: AppSpec) -> dict[str, Any]:
    """The app's values files merged in order, then its ``vars``."""
    values: dict[str, Any] = {}
    for path in app.values:
        values = deep_merge(values, _read_values_file(snapshot, app, path))
    return deep_merge(values, app.vars)


def template_context(snapshot: Snapshot, app: AppSpec) -> dict[str, Any]:
    """Everything a template of `app` can use: its values plus ``app`` and
    ``revision``, which gitward sets and values cannot override."""
    return {**load_values(snapshot, app), "app": app.name, "revision": snapshot.revision}


@cache
def template_environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment all templates render in (it is
    thread-safe, and building one per file would waste time)."""
    return ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                         keep_trailing_newline=True)


def render_template(text: str, path: str, context: Mapping[str, Any]) -> str:
    """Render the template `text` read from repository file `path`.

    Raises `TemplateError` naming `path`, the template's line and, for an
    undefined variable, the variable.
    """
    if not _TEMPLATE_SYNTAX.search(text):
        return text  # nothing to render; compiling would cost half a millisecond
    try:
        template = _compiled(text)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(path, f"template syntax error: {err.message}; fix the "
                                  "template", line=err.lineno) from None
    try:
        return template.render(context)
    except jinja2.UndefinedError as err:
        raise TemplateError(path, _undefined_message(err),
                            line=_template_line(err.__traceback__)) from None
    except SecurityError as err:
        raise TemplateError(path, f"not allowed in a template: {err}",
                            line=_template_line(err.__traceback__)) from None
    except Exception as err:  # anything a template raises is the template's fault
        raise TemplateError(path, f"template failed: {type(err).__name__}: {err}",
                            line=_template_line(err.__traceback__)) from None


@lru_cache(maxsize=4096)
def _compiled(text: str) -> jinja2.Template:
    """Compiled templates by their text: an agent renders the same files again
    and again when other files of the app change."""
    return template_environment().from_string(text)


def _read_values_file(snapshot: Snapshot, app: AppSpec, path: str) -> Mapping[str, Any]:
    try:
        data = snapshot.read(path)
    except FileNotFoundError:
        raise ValuesFileError(path, f"values file of app {app.name} does not exist at revision "
                                    f"{short_revision(snapshot)}; add it or remove it from the "
                                    "app's values") from None
    documents = load_documents(data, path)
    if not documents:
        return {}
    if len(documents) > 1 or not isinstance(documents[0].data, dict):
        raise ValuesFileError(path, f"values file of app {app.name} must hold one YAML "
                                    "mapping (name: value lines)", line=documents[0].line)
    values: dict[str, Any] = documents[0].data
    return values


def _undefined_message(err: jinja2.UndefinedError) -> str:
    undefined = _UNDEFINED_NAME.match(str(err.message))
    if undefined:
        return (f"undefined variable {undefined.group(1)!r}; define it in the app's values "
                "files or vars")
    return f"undefined value: {err.message}; check the name or define it in the app's values"


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line being rendered when an error was raised.

    Jinja rewrites tracebacks so that frames of template code carry the
    template's own line numbers; the innermost such frame is the one at fault.
    """
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
