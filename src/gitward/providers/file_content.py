"""A File's bytes, and how a plan shows them.

The spec holds them as ``content`` (text) or ``content_base64``; `sha256`,
when the render has worked it out, stands for them. A diff shows text up to
`TEXT_DIFF_LIMIT` and a summary (size and sha256) past it or for binary
bytes. Used by `gitward.providers.files`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["TEXT_DIFF_LIMIT", "add_text", "desired_sha", "file_bytes", "shown_content",
           "summary"]

TEXT_DIFF_LIMIT = 64 * 1024  # larger files are summarised in diffs, not shown


def file_bytes(spec: Mapping[str, Any]) -> bytes:
    """The bytes a File spec asks for."""
    if "content_base64" in spec:
        return base64.b64decode(spec["content_base64"])
    return str(spec.get("content", "")).encode()


def desired_sha(spec: Mapping[str, Any]) -> str:
    sha = spec.get("sha256")
    return sha if isinstance(sha, str) else hashlib.sha256(file_bytes(spec)).hexdigest()


def add_text(spec: dict[str, Any], data: bytes) -> None:
    """Show `data` in `spec` as text, if it is UTF-8."""
    with contextlib.suppress(UnicodeDecodeError):  # binary: diffs show a summary
        spec["content"] = data.decode()


def shown_content(spec: Mapping[str, Any]) -> str:
    """The content of a File spec as a diff shows it."""
    text = spec.get("content")
    if isinstance(text, str) and len(text) < TEXT_DIFF_LIMIT:
        return text
    data = file_bytes(spec)
    return summary({"size": len(data), "sha256": desired_sha(spec)})


def summary(spec: Mapping[str, Any]) -> str:
    """Size and short sha256, for bytes not shown as text."""
    return f"<{spec.get('size', '?')} bytes, sha256 {str(spec.get('sha256', '?'))[:12]}>"
