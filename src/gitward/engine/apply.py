"""Applying a plan: wave by wave, independent changes side by side.

The plan is already ordered. `batches` cuts it into groups whose members do
not depend on each other; each group runs in a thread pool, a provider that
is `BatchApplicable` taking all its changes of the group in one task (the
files provider then makes all its writes durable with one barrier). The
group's results are recorded in the store together, in one transaction with
the inventory changes that go with them, as soon as the group has landed, so
a crash leaves an exact journal of every group before it.

A change whose dependency failed is skipped, and after a failed wave later
waves are skipped too: waves exist to say "this must be in place first".
The first time gitward takes over a thing that already existed with other
content, a provider that can (`Backupable`) saves it in the store; pruning it
later puts the saved thing back instead of deleting.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from gitward.core.model import Action, Change, Key, Plan, Resource, Result
from gitward.core.order import batches
from gitward.core.seams import Backupable, BatchApplicable, Provider, Store

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
            done: list[Result] = []
            runnable: list[Change] = []
            stopping = should_stop is not None and should_stop()
            for change in group:
                blocked = STOPPING if stopping else _blocked_by(change, failed, failed_wave)
                if blocked:
                    failed.add(change.key)
                    done.append(Result(change, False, blocked, skipped=True))
                else:
                    runnable.append(change)
            applied = _apply_group(runnable, provider_of, store, inventory, pool)
            for result in applied:
                if not result.ok:
                    failed.add(result.change.key)
                    if result.change.action is not Action.delete:
                        wave = result.change.resource.wave
                        failed_wave = wave if failed_wave is None else min(failed_wave, wave)
            done.extend(applied)
            store.results(run, done)
            results.extend(done)
            if progress:
                for result in done:
                    progress(result)
    finally:
        if pool:
            pool.shutdown(wait=True)
    return results


def _apply_group(changes: list[Change], provider_of: ProviderOf, store: Store,
                 inventory: Mapping[Key, Resource], pool: ThreadPoolExecutor | None
                 ) -> list[Result]:
    """Apply one group of independent changes, side by side: one task per
    change, except that a `BatchApplicable` provider gets all of its forward
    changes in one task. The results come back in the group's order."""
    batched: dict[int, list[Change]] = {}
    batchable: dict[int, bool] = {}   # by provider: a Protocol's isinstance is slow
    tasks: list[Callable[[], list[Result]]] = []
    for change in changes:
        provider = provider_of(change.key)
        can = batchable.get(id(provider))
        if can is None:
            can = batchable[id(provider)] = isinstance(provider, BatchApplicable)
        if change.action is not Action.delete and can:
            batch = batched.get(id(provider))
            if batch is None:
                batch = batched[id(provider)] = []
                tasks.append(functools.partial(_apply_batch, batch,
                                               cast(BatchApplicable, provider), store, inventory))
            batch.append(change)
        else:
            tasks.append(functools.partial(_apply_one, change, provider, store, inventory))
    outcomes = pool.map(_call, tasks) if pool and len(tasks) > 1 else map(_call, tasks)
    by_key = {result.change.key: result for done in outcomes for result in done}
    return [by_key[change.key] for change in changes]


def _call(task: Callable[[], list[Result]]) -> list[Result]:
    return task()


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


def _apply_one(change: Change, provider: Provider, store: Store,
               inventory: Mapping[Key, Resource]) -> list[Result]:
    started = time.perf_counter()
    try:
        if change.action is Action.delete:
            live_after = _prune(change, provider, store, inventory)
        else:
            _backup_on_takeover(change, provider, store, inventory)
            live_after = provider.apply(change)
    except Exception as error:
        message = str(error) or type(error).__name__
        return [Result(change, False, message, None, time.perf_counter() - started)]
    return [Result(change, True, None, live_after, time.perf_counter() - started)]


def _apply_batch(changes: list[Change], provider: BatchApplicable, store: Store,
                 inventory: Mapping[Key, Resource]) -> list[Result]:
    """Forward changes of one provider applied together; each still gets its
    own result, and a failure of one leaves the others applied."""
    started = time.perf_counter()
    done: dict[Key, Result] = {}
    ready: list[Change] = []
    for change in changes:
        try:
            _backup_on_takeover(change, cast(Provider, provider), store, inventory)
        except Exception as error:
            done[change.key] = Result(change, False, str(error) or type(error).__name__)
            continue
        ready.append(change)
    outcomes = provider.apply_many(ready) if ready else []
    share = (time.perf_counter() - started) / max(1, len(changes))
    for change, outcome in zip(ready, outcomes, strict=True):
        if isinstance(outcome, Exception):
            done[change.key] = Result(change, False, str(outcome) or type(outcome).__name__,
                                      None, share)
        else:
            done[change.key] = Result(change, True, None, outcome, share)
    return [done[change.key] for change in changes]


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
