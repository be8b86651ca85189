"""`SpecModels`: a provider's kind-to-model mapping that imports its models on
first use.

A provider class is imported whenever one of its kinds is read, planned or
applied, but its spec models (classes pydantic checks) are needed only to
validate a changed manifest or to publish a schema. Built-in providers name their models here by
module and class, so that a sync whose manifests all come from the render
cache does not import pydantic. A third-party provider may do the same or keep
a plain dict: callers only index, iterate and count.

>>> models = SpecModels("gitward.providers.command_spec", {"Command": "CommandSpec"})
>>> models["Command"].__name__
'CommandSpec'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any

__all__ = ["SpecModels"]


class SpecModels(Mapping[str, "type[Any]"]):
    """Kind name -> spec model, the models being classes of `module` named in `names`."""

    def __init__(self, module: str, names: Mapping[str, str]) -> None:
        self._module = module
        self._names = dict(names)

    def __getitem__(self, kind: str) -> type[Any]:
        model: type[Any] = getattr(import_module(self._module), self._names[kind])
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
