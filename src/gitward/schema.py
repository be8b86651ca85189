"""`gitward schema`: JSON Schema of every manifest kind, for editors.

Each kind's spec model comes from its provider (through entry points, so a
third-party kind appears here too); the system map's Application and Target
kinds come from the core. The result is one schema whose ``oneOf`` picks a
branch by ``kind``, usable as a yaml-language-server schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from gitward.core.errors import GitwardError
from gitward.core.system import AppSpec, TargetSpec

__all__ = ["manifest_schema"]


def _kind_schema(kind: str, model: type[Any]) -> dict[str, Any]:
    spec = TypeAdapter(model).json_schema()
    defs = spec.pop("$defs", {})
    body: dict[str, Any] = {
        "title": kind,
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "gitward/v1"},
            "kind": {"const": kind},
            "metadata": {"$ref": "#/$defs/Metadata"},
            "spec": spec,
        },
    }
    return {"body": body, "defs": defs}


def manifest_schema(only: str | None = None) -> dict[str, Any]:
    from gitward.core.manifest import Metadata
    from gitward.providers import kind_registry

    # Pydantic models and the dataclasses pydantic checks: TypeAdapter reads both.
    models: dict[str, type[Any]] = {
        kind: cls.spec_models[kind] for kind, cls in sorted(kind_registry().items())}
    models["Application"] = AppSpec
    models["Target"] = TargetSpec
    from gitward.updates.policy import UpdatePolicy

    models["UpdatePolicy"] = UpdatePolicy
    if only is not None:
        if only not in models:
            raise GitwardError(f"unknown kind {only!r}; known kinds: {', '.join(models)}")
        models = {only: models[only]}
    defs: dict[str, Any] = {"Metadata": TypeAdapter(Metadata).json_schema()}
    branches = []
    for kind, model in models.items():
        made = _kind_schema(kind, model)
        defs.update(made["defs"])
        branches.append(made["body"])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "gitward manifest", "oneOf": branches, "$defs": defs}
