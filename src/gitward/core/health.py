"""Health roll-up: an app is as healthy as its least healthy resource."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from gitward.core.model import Health, Key, Resource, worst_health

__all__ = ["app_health", "resource_healths"]


def resource_healths(keys: Iterable[Key], live: Mapping[Key, Resource],
                     health_of: Callable[[Key, Resource | None], Health]) -> dict[Key, Health]:
    return {key: health_of(key, live.get(key)) for key in keys}


def app_health(healths: Iterable[Health]) -> Health:
    return worst_health(healths)
