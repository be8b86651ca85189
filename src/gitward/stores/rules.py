"""What a store does with what it is told: the rules both stores share.

The engine reports each `Result` as it happens; the store appends it to the
run's journal and, in the same transaction, brings the app's inventory up to
date, because the inventory is what the next plan prunes from (Flux's change
set doubling as inventory). `inventory_effect` says how:

- an applied create, update or replace: keep the resource as applied and as
  read back (`Upsert`, stamped with the run's revision);
- a noop with a desired side: the resource is in sync; refresh its row but
  keep the revision that last changed it;
- a successful delete, or a noop without a desired side (a prune that found
  the resource already gone, or one that prune settings kept on the target):
  gitward no longer manages it (`Remove`);
- anything failed or skipped: nothing, so a failed delete stays in the
  inventory and is tried again, and a failed update keeps the last state that
  really was applied.

Dry runs apply nothing, so their results never touch the inventory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitward.core.model import Action, Key, Outcome, Resource, Result

__all__ = ["Remove", "Upsert", "finish_counts", "inventory_effect", "marks_synced"]

_APPLYING = frozenset({Action.create, Action.update, Action.replace})


@dataclass(frozen=True, slots=True)
class Upsert:
    """Record `desired` as applied and `live` as read back; `applied` says the
    change was made now, so the row takes the run's revision."""

    desired: Resource
    live: Resource | None
    applied: bool


@dataclass(frozen=True, slots=True)
class Remove:
    key: Key


def inventory_effect(result: Result) -> Upsert | Remove | None:
    """How one non-dry-run result changes its app's inventory (None: not at all)."""
    change = result.change
    if not result.ok or result.skipped:
        return None
    if change.action in _APPLYING and change.desired is not None:
        return Upsert(change.desired, result.live_after, applied=True)
    if change.action is Action.delete:
        return Remove(change.key)
    if change.action is Action.noop:
        if change.desired is None:
            return Remove(change.key)
        return Upsert(change.desired, result.live_after or change.live, applied=False)
    return None


def marks_synced(outcome: str, dry_run: bool) -> bool:
    """Whether a finished run moves the app's synced revision forward: only a
    real run whose changes were (at least partly) applied."""
    return not dry_run and outcome in (Outcome.succeeded.value, Outcome.partial.value)


def finish_counts(planned: Mapping[str, int], failed: int, skipped: int) -> dict[str, int]:
    """A finished run's counts: the planned actions, plus how many results
    failed and how many were skipped (a skipped result is not also failed)."""
    return {**planned, "failed": failed, "skipped": skipped}
