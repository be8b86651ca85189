"""From rendered documents to desired `Resource`s: the last step of rendering.

A renderer gives `Document`s, plain data with a file and line. Here each one
is checked in three layers, and the first problem found is a `ManifestError`
that names file, line and field and says what to do:

1. the envelope (`core.manifest.Manifest`): a mapping with ``apiVersion:
   gitward/v1``, a ``kind``, ``metadata.name`` and no unknown top-level field;
2. the kind: one that some provider registered (`KindRegistry`);
3. the spec: the kind's model (a class pydantic checks), which the kind's provider then
   `describe`s as plain data with its claim and secret fields.

gitward's own annotations (wave, depends-on, prune, target) become fields of
the `Resource`; its key is ``(kind, target, metadata.name)``, its target the
app's unless ``gitward/target`` says otherwise. Two resources with one key in
one app are a `DuplicateResourceError` naming both places.

>>> documents = PlainRenderer().render(snapshot, app)                  # doctest: +SKIP
>>> to_resources(documents, app, {"File": FilesProvider})  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic_core import ErrorDetails, ValidationError

from gitward.core.errors import ManifestError
from gitward.core.manifest import API_VERSION, NAME_PATTERN, Document, Manifest
from gitward.core.model import Key, Origin, Resource
from gitward.core.plan import check_unique
from gitward.core.seams import Described
from gitward.core.system import AppSpec
from gitward.core.validation import fields_at, is_unknown_field, problem, validate

__all__ = ["ANNOTATIONS", "KindInfo", "KindProvider", "KindRegistry", "to_resources"]

WAVE = "gitward/wave"
DEPENDS_ON = "gitward/depends-on"
PRUNE = "gitward/prune"
TARGET = "gitward/target"
ANNOTATIONS = (WAVE, DEPENDS_ON, PRUNE, TARGET)
_NAME = re.compile(NAME_PATTERN)
_Model = TypeVar("_Model")


class KindProvider(Protocol):
    """What building needs of the provider of a kind: the model its spec must
    fit, and `describe`, which turns a valid spec into the plain data the
    planner compares. A provider class (`core.seams.ProviderFactory`) is one."""

    @property
    def spec_models(self) -> Mapping[str, type[Any]]: ...

    def describe(self, kind: str, spec: Any) -> Described: ...


# Kind name -> its provider, e.g. ``{"File": FilesProvider}``. Provider
# classes come from entry points, typed as bare classes; hence `type[Any]`.
KindRegistry = Mapping[str, KindProvider | type[Any]]


@dataclass(frozen=True, slots=True)
class KindInfo:
    """A `KindProvider` for one kind made of a model and a function, for a
    kind whose provider class is not at hand (tests, plugins).

    >>> KindInfo("Note", NoteSpec, lambda kind, spec: Described(spec.model_dump()))
    ... # doctest: +SKIP
    """

    name: str
    spec_model: type[Any]
    describer: Callable[[str, Any], Described]

    @property
    def spec_models(self) -> Mapping[str, type[Any]]:
        return {self.name: self.spec_model}

    def describe(self, kind: str, spec: Any) -> Described:
        return self.describer(kind, spec)


def to_resources(documents: Iterable[Document], app: AppSpec, kinds: KindRegistry
                 ) -> list[Resource]:
    """The desired resources of `app`, one per document, in document order."""
    resources = [_to_resource(doc, app, kinds) for doc in documents]
    check_unique(resources, app=app.name)
    return resources


def _to_resource(doc: Document, app: AppSpec, kinds: KindRegistry) -> Resource:
    manifest = _envelope(doc)
    provider = kinds.get(manifest.kind)
    if provider is None:
        known = ", ".join(sorted(kinds)) or "none (no provider is installed)"
        raise _error(doc, ["kind"], f"unknown kind {manifest.kind!r}; known kinds: {known}")
    spec_model = provider.spec_models[manifest.kind]
    spec = _validated(doc, spec_model, manifest.spec, ("spec",))
    described = provider.describe(manifest.kind, spec)
    annotations = manifest.metadata.annotations
    target = _target(doc, annotations.get(TARGET), app.target)
    return Resource(
        key=Key(manifest.kind, target, manifest.metadata.name),
        spec=described.spec,
        wave=_wave(doc, annotations.get(WAVE)),
        depends_on=_depends_on(doc, annotations.get(DEPENDS_ON), target),
        prune=_prune(doc, annotations.get(PRUNE)),
        claim=described.claim,
        origin=Origin(doc.path, doc.line),
        sensitive=described.sensitive,
    )


def _envelope(doc: Document) -> Manifest:
    if not isinstance(doc.data, dict):
        raise ManifestError(doc.path, f"a manifest is a mapping with apiVersion, kind, metadata "
                                      f"and spec, not {_type_name(doc.data)}", line=doc.line)
    manifest = _validated(doc, Manifest, doc.data, ())
    unknown = sorted(key for key in manifest.metadata.annotations
                     if key.startswith("gitward/") and key not in ANNOTATIONS)
    if unknown:
        raise _error(doc, ["metadata", "annotations", unknown[0]],
                     f"unknown gitward annotation; known ones: {', '.join(ANNOTATIONS)}")
    return manifest


def _validated(doc: Document, model: type[_Model], data: Any,
               prefix: tuple[str, ...]) -> _Model:
    try:
        return validate(model, data)
    except ValidationError as err:
        raise _schema_error(doc, model, err, prefix) from None


def _schema_error(doc: Document, model: type[Any], err: ValidationError,
                  prefix: tuple[str, ...]) -> ManifestError:
    """The first problem pydantic found, at its field's own line."""
    first = err.errors(include_url=False)[0]
    message = _problem(model, first, prefix)
    others = err.error_count() - 1
    if others:
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return _error(doc, [*prefix, *first["loc"]], message)


def _problem(model: type[Any], error: ErrorDetails, prefix: tuple[str, ...]) -> str:
    loc = (*prefix, *error["loc"])
    kind = error["type"]
    if kind == "missing":
        return "is required; add it"
    if is_unknown_field(error):
        known = fields_at(model, error["loc"][:-1])
        listing = f"; known fields here: {', '.join(known)}" if known else ""
        return f"unknown field{listing}"
    if loc == ("apiVersion",):
        return f"must be {API_VERSION}"
    if loc == ("metadata", "name"):
        return ("must be 1-253 letters, digits, '.', '_' or '-', starting and ending with a "
                "letter or digit")
    if kind == "string_type" and loc[:2] == ("metadata", "annotations"):
        return f'must be text; write it in quotes, e.g. "{error["input"]}"'
    return problem(error)


def _wave(doc: Document, value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value.strip())
    except ValueError:
        raise _annotation_error(doc, WAVE, f'must be a whole number such as "1" or "-1", '
                                           f"not {value!r}") from None


def _depends_on(doc: Document, value: str | None, target: str) -> tuple[Key, ...]:
    if value is None:
        return ()
    keys = []
    for reference in (part.strip() for part in value.split(",")):
        if not reference:
            continue
        try:
            keys.append(Key.parse(reference, default_target=target))
        except ValueError as err:
            raise _annotation_error(doc, DEPENDS_ON, str(err)) from None
    return tuple(keys)


def _prune(doc: Document, value: str | None) -> bool:
    if value is None:
        return True
    answer = value.strip().lower()
    if answer not in ("true", "false"):
        raise _annotation_error(doc, PRUNE, f'must be "true" or "false", not {value!r}')
    return answer == "true"


def _target(doc: Document, value: str | None, default: str) -> str:
    if value is None:
        return default
    if not _NAME.match(value):
        raise _annotation_error(doc, TARGET, f"{value!r} is not a target name; write the name "
                                             "of a target declared in gitward.yaml")
    return value


def _annotation_error(doc: Document, annotation: str, message: str) -> ManifestError:
    return _error(doc, ["metadata", "annotations", annotation], message)


def _error(doc: Document, field_path: Sequence[str | int], message: str) -> ManifestError:
    from gitward.renderers.yaml_load import field_line  # YAML only for the error

    return ManifestError(doc.path, message, line=field_line(doc, field_path),
                         field=_dotted(field_path))


def _dotted(field_path: Sequence[str | int]) -> str:
    """``spec.users[2].name`` from ``["spec", "users", 2, "name"]``."""
    text = ""
    for part in field_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a value of type {type(value).__name__}"
