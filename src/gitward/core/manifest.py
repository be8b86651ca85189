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

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gitward.core.document import API_VERSION, NAME_PATTERN, Document

__all__ = ["API_VERSION", "NAME_PATTERN", "Document", "Manifest", "Metadata"]



class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(pattern=NAME_PATTERN, description="Unique per kind within a target.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    apiVersion: str = Field(pattern=r"^gitward/v1$")
    kind: str
    metadata: Metadata
    spec: dict[str, Any] = Field(default_factory=dict)
