"""Providers: the part of gitward that reads and changes live systems.

A provider serves a family of kinds on one target (`FilesProvider`: File,
Directory, Symlink; `CommandProvider`: Command). In the data flow it stands
on both sides of the pure planner: `read` turns desired resources into live
ones, `diff` (pure) pairs them into a `Change`, and `apply` / `delete` carry
the plan out, each returning what is live afterwards. Host kinds reach their
host only through a `Connection` (`connection.py`), so the same provider works
on this machine and, later, over SSH.

Providers register through the ``gitward.providers`` entry-point group, the
built-ins too, so a third-party package adds kinds with one line in its
``pyproject.toml``::

    [project.entry-points."gitward.providers"]
    nginx = "gitward_nginx:NginxProvider"

`provider_classes` lists them by entry-point name; `kind_registry` says which
class serves each kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

from gitward.core.errors import GitwardError
from gitward.core.seams import ProviderFactory
from gitward.providers.connection import ProviderError

__all__ = ["Kinds", "ProviderError", "kind_registry", "provider_classes", "provider_for_kind"]

ENTRY_POINT_GROUP = "gitward.providers"


@cache
def provider_classes() -> dict[str, ProviderFactory]:
    """Every installed provider class by entry-point name, built-ins included
    even when the package metadata is missing (e.g. running from a checkout)."""
    from importlib.metadata import entry_points

    found: dict[str, ProviderFactory] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[entry.name] = entry.load()
        except Exception as exc:  # a broken plugin: name it rather than crash obscurely
            raise ProviderError(f"cannot load provider {entry.name!r} ({entry.value}): {exc}; "
                                "reinstall or uninstall the package that declares it") from exc
    for name, cls in _builtins().items():
        found.setdefault(name, cls)
    return found


@cache
def kind_registry() -> dict[str, ProviderFactory]:
    """Which provider class serves each kind, e.g. ``{"File": FilesProvider, ...}``."""
    registry: dict[str, ProviderFactory] = {}
    owner: dict[str, str] = {}
    for name, cls in sorted(provider_classes().items()):
        for kind in sorted(cls.kinds):
            if kind in registry and registry[kind] is not cls:
                raise GitwardError(f"kind {kind} is served by two providers, {owner[kind]!r} "
                                   f"and {name!r}; uninstall one of them")
            registry[kind], owner[kind] = cls, name
    return registry


def provider_for_kind(kind: str) -> ProviderFactory | None:
    """The class serving `kind`, None if none does. A built-in kind is answered
    without scanning the installed packages (~20 ms of a one-shot command); a
    plugin that claims a built-in kind is reported when the whole
    `kind_registry` is read (`gitward schema`, or any unknown kind)."""
    for cls in _builtins().values():
        if kind in cls.kinds:
            return cls
    return kind_registry().get(kind)


class Kinds(Mapping[str, ProviderFactory]):
    """`kind_registry` as a mapping that looks up a built-in kind without it."""

    def __getitem__(self, kind: str) -> ProviderFactory:
        found = provider_for_kind(kind)
        if found is None:
            raise KeyError(kind)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(kind_registry())

    def __len__(self) -> int:
        return len(kind_registry())


def _builtins() -> dict[str, ProviderFactory]:
    from gitward.providers.command import CommandProvider
    from gitward.providers.files import FilesProvider

    return {"files": FilesProvider, "command": CommandProvider}
