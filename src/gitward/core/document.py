"""One parsed YAML document and where it came from.

Kept apart from the manifest's envelope (`core.manifest`) so that reading the
repository (and the fast path of a sync whose render is cached) does not load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["API_VERSION", "NAME_PATTERN", "Document"]

API_VERSION = "gitward/v1"
NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$"


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document: its data, repository path and first line (1-based)."""

    data: Any
    path: str
    line: int = 1
