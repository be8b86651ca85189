"""The specs of the File, Directory and Symlink kinds, as a manifest writes them.

When rendered manifests become resources (`renderers.build`), each File,
Directory or Symlink spec is checked by the model `FilesProvider.spec_models`
names, before any target is touched: the path must be absolute and stay below
``/`` (`normalise_target_path`), a mode must be a quoted octal string (YAML
reads an unquoted 0644 as the number 420), owner and group are names or
numeric ids, and a File has exactly one of ``content`` and ``content_base64``.
`FilesProvider.describe` then turns the checked model into the spec the
planner compares; `gitward schema` publishes these models as JSON Schema.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gitward.core.errors import PathEscapeError
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


TargetPath = Annotated[str, AfterValidator(_target_path),
                       Field(description="Absolute path on the target, e.g. /etc/motd.")]
OwnerRef = Annotated[int | str | None, BeforeValidator(_owner)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    path: TargetPath
    owner: OwnerRef = Field(None, description="User name or numeric uid; unset leaves it alone.")
    group: OwnerRef = Field(None, description="Group name or numeric gid; unset leaves it alone.")


class FileSpec(_Spec):
    """A regular file with exactly this content, mode and owner."""

    content: str | None = Field(None, description="Text content (UTF-8).")
    content_base64: str | None = Field(None, description="Binary content, base64-encoded.")
    source: str | None = Field(None, description="Repository file the content was read from "
                                                 "(informational; set by the renderer).")
    mode: Annotated[str, BeforeValidator(_mode)] = Field(
        "0644", description='Octal permission bits as a string, e.g. "0644".')
    sensitive: bool = Field(False, description="Never show or store the content (secrets).")

    @model_validator(mode="after")
    def _one_content(self) -> FileSpec:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content and content_base64")
        if self.content_base64 is not None:
            try:
                base64.b64decode(self.content_base64, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"content_base64 is not valid base64: {exc}") from None
        return self


class DirectorySpec(_Spec):
    """A directory with this mode and owner. Pruning it fails while it is not empty."""

    mode: Annotated[str, BeforeValidator(_mode)] = Field(
        "0755", description='Octal permission bits as a string, e.g. "0755".')


class SymlinkSpec(_Spec):
    """A symbolic link at `path` pointing at `target` (stored as written)."""

    target: str = Field(min_length=1, pattern=r"^[^\x00]+$",
                        description="What the link points at, absolute or relative.")
