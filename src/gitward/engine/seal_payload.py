"""How a seal keeps its resources on disk: in groups, one per manifest file.

An app's seal holds every desired resource and its live facts as the sealing
run verified them. They are grouped by the file that declared them (their
origin), and each group is pickled on its own, twice: whole, as (desired,
live), and as its live facts alone (each key and its live spec), which is all
that checking an unchanged file takes. So a sync of a new commit unpickles
and re-pickles only the groups it looks at: a group whose manifest unit was
reused as it was when sealed (same stamp, see
`gitward.engine.render_files.FileUnit`) is checked from its facts, and its
resources are neither loaded from the render cache nor from the seal. The
cost of a one-file commit follows the change, not the size of the app.
"""

from __future__ import annotations

import pickle
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.core.model import Key, Resource
from gitward.engine.cache import load_entry, save_entry

__all__ = ["Fact", "Facts", "Pair", "Payload", "build", "group_of", "load", "pack_facts", "save"]

Pair = tuple[tuple[Resource, ...], tuple[Resource, ...]]   # (desired, live) as sealed
# Of each sealed path: (path, `lstat_key` of its live spec, its ctime if it is a
# file (to tell a racy one), its sha256): what checking it unchanged takes.
Fact = tuple[str, tuple[int, ...] | None, int | None, str | None]
Facts = tuple[Fact, ...]


def group_of(resource: Resource) -> str:
    """The group a desired resource is sealed in: the file that declared it."""
    return resource.origin.path if resource.origin is not None else ""


@dataclass(frozen=True, slots=True)
class Payload:
    """The sealed resources of one app, by group, each group still pickled."""

    pairs: dict[str, bytes]      # group -> pickled `Pair`
    facts: dict[str, bytes]      # group -> pickled `Facts`
    stamps: dict[str, str]       # group -> stamp of the manifest unit it came from

    def pair(self, group: str) -> Pair:
        found: Pair = pickle.loads(self.pairs[group])
        return found

    def facts_of(self, group: str) -> Facts:
        found: Facts = pickle.loads(self.facts[group])
        return found

    def pairs_except(self, skipped: Collection[str]) -> Iterable[tuple[Resource, Resource]]:
        """(desired, live) of every sealed resource outside the `skipped` groups."""
        for group in self.pairs:
            if group not in skipped:
                desired, live = self.pair(group)
                yield from zip(desired, live, strict=True)


def build(desired: Sequence[Resource], live: Mapping[Key, Resource], stamps: Mapping[str, str],
          kept_from: Payload | None = None, kept: Collection[str] = ()) -> Payload:
    """The payload sealing `desired` with the facts in `live`, plus the groups
    `kept` as they are in `kept_from` (found in sync without being loaded)."""
    grouped: dict[str, list[Resource]] = {}
    for res in desired:
        grouped.setdefault(group_of(res), []).append(res)
    pairs: dict[str, bytes] = {}
    facts: dict[str, bytes] = {}
    out_stamps: dict[str, str] = {}
    for group, members in grouped.items():
        seen = tuple(live[res.key] for res in members)
        pairs[group] = pickle.dumps((tuple(members), seen), protocol=pickle.HIGHEST_PROTOCOL)
        facts[group] = pack_facts(seen)
        if group in stamps:
            out_stamps[group] = stamps[group]
    if kept_from is not None:
        for group in kept:
            pairs[group], facts[group] = kept_from.pairs[group], kept_from.facts[group]
            out_stamps[group] = kept_from.stamps[group]
    return Payload(pairs, facts, out_stamps)


def pack_facts(live: Iterable[Resource]) -> bytes:
    """The pickled `Facts` of these live resources."""
    from gitward.providers.file_facts import lstat_key

    facts = tuple((r.spec["path"], lstat_key(r.spec),
                   r.spec.get("ctime_ns") if r.spec.get("type") == "file" else None,
                   r.spec.get("sha256")) for r in live)
    return pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)


def save(path: Path, payload: Payload) -> None:
    save_entry(path, {"payload": payload})


def load(path: Path) -> Payload | None:
    """The payload at `path`; None if there is none that this gitward wrote."""
    found = load_entry(path).get("payload")
    return found if isinstance(found, Payload) else None
