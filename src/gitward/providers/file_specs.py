"""The specs of the File, Directory and Symlink kinds, as a manifest writes them.

When rendered manifests become resources (`renderers.build`), each File,
Directory or Symlink spec is checked by the model `FilesProvider.spec_models`
names, before any target is touched: the path must be absolute and stay below
``/`` (`normalise_target_path`), a mode must be a quoted octal string (YAML
reads an unquoted 0644 as the number 420), owner and group are names or
numeric ids, and a File has exactly one of ``content`` and ``content_base64``.
`FilesProvider.describe` then turns the checked spec into the plain data the
planner compares; `gitward schema` publishes these classes as JSON Schema.
They are dataclasses that pydantic checks (`core.validation`): a first sync
validates every File without importing pydantic's model machinery.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from gitward.core.errors import PathEscapeError
from gitward.core.validation import Check
from gitward.providers.paths import normalise_target_path

__all__ = ["DirectorySpec", "FileSpec", "OwnerRef", "SymlinkSpec", "TargetPath"]

_MODE = re.compile(r"^(?:0o)?([0-7]{3,4})$")


def _target_path(value: str) -> str:
    try:
        clean = normalise_target_path(value)
    except PathEscapeError as exc:
        raise ValueError(str(exc)) from None
    if clean == "/":
        raise ValueError("path must name something below /")
    return clean


def _mode(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError('mode must be a quoted octal string like "0644" '
                         "(YAML reads an unquoted 0644 as the number 420)")
    match = _MODE.match(value.strip())
    if not match:
        raise ValueError(f'mode {value!r} is not an octal mode like "0644" or "755"')
    return f"{int(match.group(1), 8):04o}"


def _owner(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise ValueError("owner and group are names or numeric ids (0 or more)")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text or ":" in text or any(c.isspace() for c in text):
        raise ValueError(f"{value!r} is not a user or group name")
    return int(text) if text.isdigit() else text


TargetPath = Annotated[str, Check(after=_target_path)]
OwnerRef = Annotated[int | str | None, Check(before=_owner)]
Mode = Annotated[str, Check(before=_mode)]
_PATH = "Absolute path on the target, e.g. /etc/motd."


@dataclass(kw_only=True)
class _Spec:
    __pydantic_config__ = {"extra": "forbid"}

    path: TargetPath = field(metadata={"description": _PATH})
    owner: OwnerRef = field(default=None, metadata={
        "description": "User name or numeric uid; unset leaves it alone."})
    group: OwnerRef = field(default=None, metadata={
        "description": "Group name or numeric gid; unset leaves it alone."})


@dataclass(kw_only=True)
class FileSpec(_Spec):
    """A regular file with exactly this content, mode and owner."""

    content: str | None = field(default=None, metadata={"description": "Text content (UTF-8)."})
    content_base64: str | None = field(default=None, metadata={
        "description": "Binary content, base64-encoded."})
    source: str | None = field(default=None, metadata={
        "description": "Repository file the content was read from (informational; set by "
                       "the renderer)."})
    mode: Mode = field(default="0644", metadata={
        "description": 'Octal permission bits as a string, e.g. "0644".'})
    sensitive: bool = field(default=False, metadata={
        "description": "Never show or store the content (secrets)."})

    def __post_init__(self) -> None:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content and content_base64")
        if self.content_base64 is not None:
            try:
                base64.b64decode(self.content_base64, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"content_base64 is not valid base64: {exc}") from None


@dataclass(kw_only=True)
class DirectorySpec(_Spec):
    """A directory with this mode and owner. Pruning it fails while it is not empty."""

    mode: Mode = field(default="0755", metadata={
        "description": 'Octal permission bits as a string, e.g. "0755".'})


@dataclass(kw_only=True)
class SymlinkSpec(_Spec):
    """A symbolic link at `path` pointing at `target` (stored as written)."""

    target: str = field(metadata={
        "min_length": 1, "pattern": r"^[^\x00]+$",
        "description": "What the link points at, absolute or relative."})
