"""Shared fixtures for renderer tests: two small test kinds and a render helper.

The kinds stand in for real providers (which register through entry points):
``File`` with a path and content, ``Service`` with a name and an enabled flag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from gitward.core.model import Resource
from gitward.core.seams import Described
from gitward.core.system import AppSpec, validate_spec
from gitward.renderers import renderer_for
from gitward.renderers.build import KindInfo, KindRegistry, to_resources
from gitward.testing import FakeSnapshot


class FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=r"^/")
    content: str | None = None
    content_base64: str | None = None
    source: str | None = None
    mode: str = Field("0644", pattern=r"^0[0-7]{3}$")


class ServiceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str
    enabled: bool = True


def describe(kind: str, spec: BaseModel) -> Described:
    data = spec.model_dump(exclude_none=True)
    claim = f"fs:{data['path']}" if kind == "File" else f"unit:{data['unit']}"
    return Described(data, claim=claim)


KINDS: KindRegistry = {"File": KindInfo("File", FileSpec, describe),
                       "Service": KindInfo("Service", ServiceSpec, describe)}

Render = Callable[..., list[Resource]]


def file_manifest(name: str, path: str | None = None, *, extra: str = "",
                  annotations: str = "") -> str:
    """A File manifest as YAML text; `extra` adds spec lines (indented 2)."""
    meta = f"\n  annotations:\n{annotations}" if annotations else ""
    return (f"apiVersion: gitward/v1\nkind: File\nmetadata:\n  name: {name}{meta}\n"
            f"spec:\n  path: {path or '/etc/' + name}\n{extra or '  content: hi'}\n")


@pytest.fixture
def kinds() -> KindRegistry:
    return KINDS


@pytest.fixture
def render() -> Render:
    """``render(files, **app_fields)``: the resources of app ``web`` (path
    ``apps/web`` unless given) in a snapshot of `files`."""
    def render_app(files: Mapping[str, str | bytes], **app_fields: Any) -> list[Resource]:
        app = validate_spec(AppSpec, {"name": "web", "path": "apps/web", **app_fields})
        snapshot = FakeSnapshot(files, revision="abc1234" + "0" * 33)
        return to_resources(renderer_for(app.renderer).render(snapshot, app), app, KINDS)
    return render_app
