"""Apply order: wave first, then dependencies, then kind, then name (and the
order of apps, `order_apps`: dependencies first, then name).

A resource may depend only on resources of its own or an earlier wave; a
dependency on a later wave or a cycle is an error that names the resources.
Prunes run after everything else, in the reverse of that order, so that what
depends on a thing goes before the thing itself.

`batches` cuts an ordered list into groups that can run at the same time:
nothing in a group depends on anything in the same group, and groups never
mix waves.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from graphlib import TopologicalSorter
from typing import TypeVar

from gitward.core.errors import DependencyCycleError, UnknownDependencyError, WaveOrderError
from gitward.core.model import Key, Resource

__all__ = ["batches", "order_apps", "order_resources"]

T = TypeVar("T")


def order_resources(resources: Iterable[Resource], *, known: Iterable[Key] = ()
                    ) -> list[Resource]:
    """Sort resources for applying. `known` are keys that may be depended on
    although they are not in `resources` (already converged, e.g. unchanged)."""
    by_key = {r.key: r for r in resources}
    outside = set(known)
    deps: dict[Key, list[Key]] = {}
    for res in by_key.values():
        inside = []
        for dep in res.depends_on:
            if dep in by_key:
                if by_key[dep].wave > res.wave:
                    raise WaveOrderError(
                        f"{res.key} (wave {res.wave}) depends on {dep} "
                        f"(wave {by_key[dep].wave}); put it in the same or a later wave")
                inside.append(dep)
            elif dep not in outside:
                where = f" ({res.origin})" if res.origin else ""
                raise UnknownDependencyError(
                    f"{res.key}{where} depends on {dep}, which this app does not declare")
        deps[res.key] = inside
    return [by_key[k] for k in _topological(by_key, deps)]


def _sort_key(res: Resource) -> tuple[int, str, str, str]:
    return (res.wave, res.key.kind, res.key.name, res.key.target)


def _topological(by_key: dict[Key, Resource], deps: dict[Key, list[Key]]) -> list[Key]:
    if not any(deps.values()):   # the common case, and a plain sort gives the same order
        return sorted(by_key, key=lambda k: _sort_key(by_key[k]))
    waiting = {k: len(set(v)) for k, v in deps.items()}
    users: dict[Key, list[Key]] = {k: [] for k in by_key}
    for key, needed in deps.items():
        for dep in set(needed):
            users[dep].append(key)
    ready = [(_sort_key(by_key[k]), k) for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[Key] = []
    while ready:
        _, key = heapq.heappop(ready)
        out.append(key)
        for user in users[key]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (_sort_key(by_key[user]), user))
    if len(out) < len(by_key):
        raise DependencyCycleError([str(k) for k in find_cycle(deps, set(by_key) - set(out))])
    return out


def find_cycle(deps: dict[T, list[T]], among: set[T]) -> list[T]:
    """One cycle among `among`, first node repeated at the end: [a, b, a]."""
    for start in sorted(among, key=str):
        path: list[T] = []
        seen: dict[T, int] = {}
        node: T | None = start
        while node is not None and node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = next((d for d in sorted(deps.get(node, []), key=str) if d in among), None)
        if node is not None:
            cycle = path[seen[node]:]
            return [*cycle, node]
    return sorted(among, key=str)


def batches(items: Sequence[T], key_of: Callable[[T], Key], wave_of: Callable[[T], int],
            deps_of: Callable[[T], Iterable[Key]]) -> list[list[T]]:
    """Group ordered items into runs of mutually independent ones, wave by wave."""
    groups: list[list[T]] = []
    level_of: dict[Key, tuple[int, int]] = {}
    current_wave: int | None = None
    base = 0
    for item in items:
        wave = wave_of(item)
        if wave != current_wave:
            current_wave, base = wave, len(groups)
        level = base
        for dep in deps_of(item):
            if dep in level_of and level_of[dep][0] == wave:
                level = max(level, level_of[dep][1] + 1)
        level_of[key_of(item)] = (wave, level)
        while len(groups) <= level:
            groups.append([])
        groups[level].append(item)
    return groups


def order_apps(depends_on: Mapping[str, Sequence[str]], names: Iterable[str]) -> list[str]:
    """`names` plus nothing else, each after those of its dependencies among
    them, ties by name.

    >>> order_apps({"web": ["db"], "db": [], "cache": []}, ["web", "db"])
    ['db', 'web']
    """
    chosen = set(names)
    graph = {n: [d for d in depends_on.get(n, ()) if d in chosen] for n in sorted(chosen)}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
