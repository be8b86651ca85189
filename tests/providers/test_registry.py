"""Built-in providers are found through the same entry points a plugin uses."""

from __future__ import annotations

from pydantic import TypeAdapter

from gitward.providers import kind_registry, provider_classes
from gitward.providers.command import CommandProvider
from gitward.providers.files import FilesProvider


def test_builtins_are_registered_by_entry_point_name() -> None:
    classes = provider_classes()
    assert classes["files"] is FilesProvider
    assert classes["command"] is CommandProvider


def test_each_kind_maps_to_its_provider() -> None:
    registry = kind_registry()
    assert {kind: registry[kind] for kind in ("File", "Directory", "Symlink", "Command")} == {
        "File": FilesProvider, "Directory": FilesProvider, "Symlink": FilesProvider,
        "Command": CommandProvider}


def test_every_kind_has_a_strict_documented_schema() -> None:
    for kind, cls in kind_registry().items():
        schema = TypeAdapter(cls.spec_models[kind]).json_schema()
        assert schema["additionalProperties"] is False, kind
        undocumented = [name for name, field in schema["properties"].items()
                        if "description" not in field]
        assert undocumented == [], f"{kind}: fields without a description: {undocumented}"
