"""One parsed YAML document and where it came from.

Kept apart from the pydantic manifest models so that reading the repository
(and the fast path of a sync whose render is cached) does not pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["API_VERSION", "NAME_PATTERN", "Document", "ParsedDocument"]

API_VERSION = "gitward/v1"
NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$"


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document: its data, repository path and first line (1-based)."""

    data: Any
    path: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class ParsedDocument(Document):
    """A `Document` that keeps the text it was parsed from and its position
    among the documents `load_documents` returned for it, so that an error
    found later (a field that does not fit its schema) can be traced back to
    the field's own line (`gitward.renderers.yaml_load.find_line`). Defined
    here, not beside the YAML loader, so that a cached parse is read back
    without loading YAML."""

    text: str = field(default="", repr=False, compare=False)
    index: int = 0
