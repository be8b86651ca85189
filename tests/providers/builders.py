"""Desired resources for provider tests, built the way the renderer builds them:
the kind's spec model validates the manifest's spec, `describe` normalises it."""

from __future__ import annotations

from typing import Any

from gitward.core.model import Key, Resource
from gitward.core.validation import validate
from gitward.providers.command import CommandProvider
from gitward.providers.files import FilesProvider


def desired(kind: str, spec: dict[str, Any], name: str = "sample",
            target: str = "local") -> Resource:
    factory = CommandProvider if kind == "Command" else FilesProvider
    model = validate(factory.spec_models[kind], spec)
    described = factory.describe(kind, model)
    return Resource(Key(kind, target, name), described.spec, claim=described.claim,
                    sensitive=described.sensitive)


def a_file(path: str, content: str = "hello\n", **spec: Any) -> Resource:
    return desired("File", {"path": path, "content": content, **spec})


def a_command(command: str | list[str], **spec: Any) -> Resource:
    return desired("Command", {"command": command, **spec})
