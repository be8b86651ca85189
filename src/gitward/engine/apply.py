"""Applying a plan: wave by wave, independent changes side by side.

The plan is already ordered. `batches` cuts it into groups whose members do
not depend on each other; each group runs in a thread pool and every result
is recorded in the store as soon as it lands (with the inventory change that
goes with it), so a crash leaves an exact journal.

A change whose dependency failed is skipped, and after a failed wave later
waves are skipped too: waves exist to say "this must be in place first".
The first time gitward takes over a thing that already existed with other
content, a provider that can (`Backupable`) saves it in the store; pruning it
later puts the saved thing back instead of deleting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from gitward.core.model import Action, Change, Key, Plan, Resource, Result
from gitward.core.order import batches
from gitward.core.seams import Backupable, Provider, Store

__all__ = ["STOPPING", "adopt_backup", "apply_plan"]

STOPPING = "skipped: gitward was asked to stop before this change"

ProviderOf = Callable[[Key], Provider]
Progress = Callable[[Result], None]


def apply_plan(plan: Plan, provider_of: ProviderOf, store: Store, run: int,
               inventory: Mapping[Key, Resource], *, workers: int = 8,
               progress: Progress | None = None,
               should_stop: Callable[[], bool] | None = None) -> list[Result]:
    pending = list(plan.pending)
    forward = [c for c in pending if c.action is not Action.delete]
    prunes = [c for c in pending if c.action is Action.delete]
    groups = _groups(forward, reverse=False) + _groups(prunes, reverse=True)
    failed: set[Key] = set()
    failed_wave: int | None = None
    results: list[Result] = []
    pool = ThreadPoolExecutor(max_workers=workers) if len(pending) > 1 else None
    try:
        for group in groups:
            runnable: list[Change] = []
            stopping = should_stop is not None and should_stop()
            for change in group:
                blocked = STOPPING if stopping else _blocked_by(change, failed, failed_wave)
                if blocked:
                    failed.add(change.key)
                    results.append(_record(store, run, Result(change, False, blocked,
                                                              skipped=True), progress))
                else:
                    runnable.append(change)

            def one(change: Change) -> Result:
                return _apply_one(change, provider_of(change.key), store, inventory)

            done = list(pool.map(one, runnable)) if pool and len(runnable) > 1 \
                else [one(c) for c in runnable]
            for result in done:
                results.append(_record(store, run, result, progress))
                if not result.ok:
                    failed.add(result.change.key)
                    if result.change.action is not Action.delete:
                        wave = result.change.resource.wave
                        failed_wave = wave if failed_wave is None else min(failed_wave, wave)
    finally:
        if pool:
            pool.shutdown(wait=True)
    return results


def _groups(changes: list[Change], *, reverse: bool) -> list[list[Change]]:
    if not reverse:
        return batches(changes, lambda c: c.key, lambda c: c.resource.wave,
                       lambda c: c.resource.depends_on)
    # Prunes go in reverse order: a thing goes after everything that depends on it.
    users: dict[Key, list[Key]] = {}
    for change in changes:
        for dep in change.resource.depends_on:
            users.setdefault(dep, []).append(change.key)
    return batches(changes, lambda c: c.key, lambda c: -c.resource.wave,
                   lambda c: users.get(c.key, ()))


def _blocked_by(change: Change, failed: set[Key], failed_wave: int | None) -> str | None:
    res = change.resource
    for dep in res.depends_on:
        if dep in failed:
            return f"skipped: depends on {dep}, which failed"
    if change.action is not Action.delete and failed_wave is not None and res.wave > failed_wave:
        return f"skipped: wave {failed_wave} failed, so wave {res.wave} was not started"
    return None


def _record(store: Store, run: int, result: Result, progress: Progress | None) -> Result:
    store.result(run, result)
    if progress:
        progress(result)
    return result


def _apply_one(change: Change, provider: Provider, store: Store,
               inventory: Mapping[Key, Resource]) -> Result:
    started = time.perf_counter()
    try:
        if change.action is Action.delete:
            live_after = _prune(change, provider, store, inventory)
        else:
            _backup_on_takeover(change, provider, store, inventory)
            live_after = provider.apply(change)
    except Exception as error:
        message = str(error) or type(error).__name__
        return Result(change, False, message, None, time.perf_counter() - started)
    return Result(change, True, None, live_after, time.perf_counter() - started)


def _backup_on_takeover(change: Change, provider: Provider, store: Store,
                        inventory: Mapping[Key, Resource]) -> None:
    if change.key not in inventory:
        adopt_backup(store, provider, change)


def adopt_backup(store: Store, provider: Provider, change: Change) -> None:
    """Save what existed before gitward first manages it, changed or not: a
    prune then puts the target back as it was found."""
    live, desired = change.live, change.desired
    if live is None or desired is None or desired.claim is None:
        return
    if not isinstance(provider, Backupable):
        return
    if store.load_backup(change.key.target, desired.claim) is None:
        store.save_backup(change.key.target, desired.claim, change.key, provider.backup(live))


def _prune(change: Change, provider: Provider, store: Store,
           inventory: Mapping[Key, Resource]) -> Resource | None:
    live = change.live
    assert live is not None
    recorded = inventory.get(change.key)
    claim = live.claim or (recorded.claim if recorded else None)
    saved = store.load_backup(change.key.target, claim) if claim else None
    if saved is not None and isinstance(provider, Backupable) and claim:
        restored = provider.restore(live, saved)
        store.drop_backup(change.key.target, claim)
        return restored
    provider.delete(live)
    return None
