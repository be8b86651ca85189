"""Planning a version update: markers plus versions give proposed bumps.

The updater's first half, with no writes: find every marker in the snapshot
(checking each names a declared policy and marks one scalar), ask each
marked policy's source for its versions, choose one (`select`), and propose a
bump for every marked value that is behind it::

    plan = plan_updates(snapshot, load_policies(snapshot))
    for bump in plan.bumps:       # web-image deploy/web.yaml:3 1.4.2 -> 1.5.0
        print(bump.policy, bump.where, bump.old_version, bump.new_version)

A source that cannot answer raises `VersionSourceError`, so nothing is
committed from a partial picture; a range that matches nothing and tags that
do not parse are reported in `UpdatePlan.outcomes`, not errors.
`bumps_for` and `edited_files` are pure and reused when a commit is rebuilt
on a branch head that moved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field

from gitward.core.seams import Snapshot
from gitward.renderers.yaml_load import decode_text
from gitward.updates.markers import (
    Marker,
    apply_edits,
    find_markers,
    markers_in_text,
    markers_in_yaml,
    new_value_for,
    version_of,
)
from gitward.updates.policy import UpdatePolicy, VersionSourceSpec
from gitward.updates.select import Choice, choose_version, is_newer
from gitward.updates.sources import describe_source, list_versions

__all__ = ["PolicyOutcome", "ProposedBump", "UpdatePlan", "bumps_for", "edited_files",
           "markers_at", "plan_updates"]

VersionLister = Callable[[VersionSourceSpec], list[str]]


@dataclass(frozen=True, slots=True)
class ProposedBump:
    """One marked value and what it should become."""

    policy: str
    path: str
    line: int
    old: str  # the whole value, as read
    new: str
    old_version: str
    new_version: str
    source: str  # describe_source(...)
    marker: Marker = field(repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    """What one policy's source listed and what was chosen from it."""

    policy: str
    source: str
    markers: int
    choice: Choice


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    revision: str
    bumps: list[ProposedBump]
    outcomes: list[PolicyOutcome]

    @property
    def versions(self) -> dict[str, str]:
        """Policy name -> chosen version, for the policies that chose one."""
        return {o.policy: o.choice.chosen for o in self.outcomes if o.choice.chosen}


def plan_updates(snapshot: Snapshot, policies: Mapping[str, UpdatePolicy], *,
                 only: Collection[str] | None = None,
                 lister: VersionLister = list_versions) -> UpdatePlan:
    """Proposed bumps at `snapshot` for `policies` (or the `only` ones named)."""
    markers = find_markers(snapshot, policies)
    outcomes: list[PolicyOutcome] = []
    for name in sorted(policies):
        policy = policies[name]
        count = sum(1 for m in markers if m.policy == name)
        if (only is not None and name not in only) or count == 0:
            continue
        choice = choose_version(lister(policy.source), policy.select, policy.ignore)
        outcomes.append(PolicyOutcome(name, describe_source(policy.source), count, choice))
    versions = {o.policy: o.choice.chosen for o in outcomes if o.choice.chosen}
    return UpdatePlan(snapshot.revision, bumps_for(markers, policies, versions), outcomes)


def bumps_for(markers: Collection[Marker], policies: Mapping[str, UpdatePolicy],
              versions: Mapping[str, str]) -> list[ProposedBump]:
    """A bump for each marker whose policy chose a version newer than its value."""
    bumps = []
    for marker in sorted(markers, key=lambda m: (m.path, m.line)):
        version = versions.get(marker.policy)
        if version is None:
            continue
        policy = policies[marker.policy]
        current = version_of(marker, policy)
        new = new_value_for(marker, policy, version)
        if new == marker.value or not is_newer(version, current, policy.select):
            continue
        bumps.append(ProposedBump(marker.policy, marker.path, marker.line, marker.value, new,
                                  current, version, describe_source(policy.source), marker))
    return bumps


def markers_at(snapshot: Snapshot, paths: Collection[str], policies: Collection[str]
               ) -> list[Marker]:
    """The markers of `policies` in just these files (those still there)."""
    found: list[Marker] = []
    for path in sorted(set(paths)):
        if not snapshot.exists(path) or snapshot.is_dir(path):
            continue
        text = decode_text(snapshot.read(path), path)
        reader = markers_in_yaml if path.endswith((".yaml", ".yml")) else markers_in_text
        # Every name is "known" here: the full check ran when the plan was made.
        found += [m for m in reader(text, path, _Anything()) if m.policy in policies]
    return found


def edited_files(snapshot: Snapshot, bumps: Collection[ProposedBump]) -> dict[str, bytes]:
    """New content of each file the bumps touch, read from `snapshot`."""
    by_path: dict[str, list[tuple[Marker, str]]] = {}
    for bump in bumps:
        by_path.setdefault(bump.path, []).append((bump.marker, bump.new))
    return {path: apply_edits(decode_text(snapshot.read(path), path), path, edits).encode()
            for path, edits in by_path.items()}


class _Anything(Collection[str]):
    """A collection that contains every name."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
