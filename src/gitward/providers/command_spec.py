"""The spec of the Command kind, as a manifest writes it.

When rendered manifests become resources (`renderers.build`), each Command
spec is checked by `CommandSpec`, the model `CommandProvider.spec_models`
names, before any target is touched: a command line is shell text or a
non-empty argv list, ``creates`` and ``cwd`` are absolute paths that stay
below ``/``, and ``timeout`` is a positive duration. It lives apart from the
provider so that reading, planning and applying never import pydantic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gitward.core.errors import PathEscapeError
from gitward.core.system import Duration
from gitward.providers.paths import normalise_target_path

__all__ = ["CommandSpec"]


def _command_line(value: str | list[str]) -> str | list[str]:
    if isinstance(value, str) and not value.strip():
        raise ValueError("a command cannot be empty")
    if isinstance(value, list) and (not value or not value[0]):
        raise ValueError("a command list needs at least the program to run")
    return value


def _absolute(value: str) -> str:
    try:
        return normalise_target_path(value)
    except PathEscapeError as exc:
        raise ValueError(str(exc)) from None


CommandLine = Annotated[str | list[str], AfterValidator(_command_line)]
TargetPath = Annotated[str, AfterValidator(_absolute)]


class CommandSpec(BaseModel):
    """A command to run on the target, with guards that say when not to."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    command: CommandLine = Field(description="Shell text (run with /bin/sh -c) or an argv list.")
    creates: TargetPath | None = Field(None, description="Converged once this path exists.")
    unless: CommandLine | None = Field(None, description="Converged when this exits 0.")
    onlyif: CommandLine | None = Field(None, description="Converged when this exits non-zero.")
    cwd: TargetPath | None = Field(None, description="Working directory on the target; "
                                                     "default /.")
    env: dict[str, str] = Field(default_factory=dict,
                                description="Variables added to the environment.")
    timeout: Duration = Field(300.0, gt=0, description="Kill the command after this long.")
    check: CommandLine | None = Field(None, description="Health probe run on every read: "
                                                        "exit 0 = healthy, else degraded.")
    undo: CommandLine | None = Field(None, description="Run when the resource is pruned.")
