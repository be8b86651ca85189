"""Checking parsed YAML against a spec class, with validators built once.

A spec class is either a pydantic ``BaseModel``, which validates itself, or a
plain dataclass that pydantic reads (field constraints and descriptions in
its ``metadata``, settings in ``__pydantic_config__``). The system map, the
manifest envelope and the files provider's kinds are dataclasses: checking
them needs only ``pydantic_core``'s compiled validator, not pydantic itself.
Generating that validator is the expensive part (pydantic's schema machinery,
~80 ms at start-up), so a process builds each one once, and the engine may
hand in a `ValidatorCache` that keeps them between processes.

>>> from dataclasses import dataclass, field
>>> @dataclass
... class Pet:
...     name: str = field(metadata={"min_length": 1})
>>> validate(Pet, {"name": "Rex"})
Pet(name='Rex')
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema, ErrorDetails, SchemaValidator

__all__ = ["Check", "ValidatorCache", "as_data", "field_names", "fields_at",
           "is_unknown_field", "problem", "use_cache", "validate", "validator"]

_Spec = TypeVar("_Spec")
_BUILT: dict[type[Any], Any] = {}   # this process's validators, by class


class ValidatorCache(Protocol):
    """Validators kept between processes. `load` gives None for a class it
    has not kept, or whose definition changed since."""

    def load(self, model: type[Any]) -> SchemaValidator | None: ...
    def save(self, model: type[Any], validator: SchemaValidator) -> None: ...


_cache: ValidatorCache | None = None


def use_cache(cache: ValidatorCache | None) -> None:
    """Take validators from `cache`, and keep new ones there (None: none)."""
    global _cache
    _cache = cache


def validate(model: type[_Spec], data: Any) -> _Spec:
    """`data` checked and converted into a `model`; a bad value raises
    ``pydantic_core.ValidationError`` (pydantic's), every problem with its field."""
    own = getattr(model, "model_validate", None)   # a BaseModel's
    checked: _Spec = own(data) if own is not None else validator(model).validate_python(data)
    return checked


def validator(model: type[Any]) -> Any:
    """The compiled validator of a dataclass `model`: this process's, the cache's,
    or built now (and then kept)."""
    found = _BUILT.get(model)
    if found is None:
        cache = _cache
        found = cache.load(model) if cache is not None else None
        if found is None:
            from pydantic import TypeAdapter
            from pydantic_core import SchemaValidator

            found = TypeAdapter(model).validator
            if cache is not None and type(found) is SchemaValidator:  # not a plugin's wrapper
                cache.save(model, found)
        _BUILT[model] = found
    return found


def field_names(model: type[Any]) -> dict[str, Any]:
    """A spec class's fields as written in YAML, each with its annotation."""
    fields = getattr(model, "model_fields", None)
    if fields is not None:   # a BaseModel
        return {field.alias or name: field.annotation for name, field in fields.items()}
    from dataclasses import fields as dataclass_fields
    from dataclasses import is_dataclass
    from typing import get_type_hints

    if not is_dataclass(model):
        return {}
    hints = get_type_hints(model)
    return {f.name: hints.get(f.name, f.type) for f in dataclass_fields(model)}


def fields_at(model: type[Any], loc: Sequence[str | int]) -> list[str]:
    """The field names `model` expects at `loc` (e.g. ``["sync", "retry"]``), if
    they can be told: for saying which fields an unknown one could have been."""
    current: type[Any] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue  # a list item: its model was taken from the list's annotation
        fields = field_names(current)
        current = _nested_model(fields[part]) if part in fields else None
    return list(field_names(current)) if current is not None else []


def _nested_model(annotation: Any) -> type[Any] | None:
    if isinstance(annotation, type) and field_names(annotation):
        return annotation
    from typing import get_args

    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def is_unknown_field(error: ErrorDetails) -> bool:
    """A key the spec does not have (as a BaseModel or as a dataclass says it)."""
    return error["type"] in ("extra_forbidden", "unexpected_keyword_argument")


def problem(error: ErrorDetails) -> str:
    """An error's message; a ``ValueError`` of a check in its own words, without
    pydantic's "Value error, " before them."""
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error") or error["msg"])
    return error["msg"]


def as_data(spec: Any, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """A checked spec's fields as plain data, leaving out unset (None) ones."""
    if hasattr(spec, "model_dump"):   # a BaseModel
        data: dict[str, Any] = spec.model_dump(exclude_none=True, exclude=set(exclude))
        return data
    from dataclasses import fields

    return {f.name: value for f in fields(spec)
            if f.name not in exclude and (value := getattr(spec, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class Check:
    """A function pydantic runs on a field's value ``before`` its type is
    checked, or ``after`` (on the checked value); a ``ValueError`` it raises is
    reported at the field. Declared as ``Annotated[str, Check(after=f)]``, it
    needs no import of pydantic: pydantic asks it for its schema.

    >>> from typing import Annotated
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Tag:
    ...     text: Annotated[str, Check(after=str.lower)]
    >>> validate(Tag, {"text": "ABC"}).text
    'abc'
    """

    before: Callable[[Any], Any] | None = None
    after: Callable[[Any], Any] | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        from pydantic_core import core_schema

        schema = handler(source)
        if self.after is not None:
            schema = core_schema.no_info_after_validator_function(self.after, schema)
        if self.before is not None:
            schema = core_schema.no_info_before_validator_function(self.before, schema)
        return schema
