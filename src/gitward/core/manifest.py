"""The shape of a manifest document, before its kind's spec is checked.

Kubernetes-style: ``apiVersion: gitward/v1``, ``kind``, ``metadata`` (name,
labels, annotations) and ``spec``. Annotations steer gitward itself:

- ``gitward/wave``: integer apply wave (default 0; lower first)
- ``gitward/depends-on``: comma-separated ``Kind/name`` references
- ``gitward/prune``: ``"false"`` keeps the resource on the target when it
  leaves Git
- ``gitward/target``: put this resource on another target than the app's

A `Document` is one parsed YAML document with the place it came from, so that
every later error can name file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitward.core.document import API_VERSION, NAME_PATTERN, Document

__all__ = ["API_VERSION", "NAME_PATTERN", "Document", "Manifest", "Metadata"]

# Dataclasses that pydantic checks (`core.validation`), not BaseModels: a
# first sync validates every manifest, and needs no more of pydantic than
# its compiled validators for that.
_STRICT = {"extra": "forbid"}


@dataclass(kw_only=True)
class Metadata:
    __pydantic_config__ = _STRICT

    name: str = field(metadata={"pattern": NAME_PATTERN,
                                "description": "Unique per kind within a target."})
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class Manifest:
    __pydantic_config__ = _STRICT

    apiVersion: str = field(metadata={"pattern": r"^gitward/v1$"})
    kind: str
    metadata: Metadata
    spec: dict[str, Any] = field(default_factory=dict)
