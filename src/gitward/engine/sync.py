"""Plan and sync apps: the engine's top-level steps, top to bottom.

`sync_app` is the whole story of one sync (see the package docstring);
`sync_apps` runs several in `depends_on` order and holds an app whose
dependency did not end synced and healthy at this revision.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitward.core.errors import GitwardError
from gitward.core.model import (
    Action,
    Change,
    Health,
    Key,
    Outcome,
    Plan,
    Resource,
    Result,
    worst_health,
)
from gitward.core.order import order_apps
from gitward.core.plan import plan_changes
from gitward.core.seams import Provider, Snapshot, Store
from gitward.engine.apply import STOPPING, adopt_backup, apply_plan
from gitward.engine.render import Rendered, render_app, render_apps, render_for_sync
from gitward.engine.report import AppReport
from gitward.engine.workspace import Workspace

if TYPE_CHECKING:
    from gitward.core.system import AppSpec
    from gitward.engine.seal import SealedState

__all__ = ["AppReport", "plan_app", "sync_app", "sync_apps"]

Progress = Callable[[str, int, int], None]  # app, done, total


@dataclass
class _Prepared:
    app: AppSpec
    snapshot: Snapshot
    desired: list[Resource]
    inventory: dict[Key, Resource]
    live: dict[Key, Resource]
    plan: Plan
    pinned: str | None
    sealed: SealedState | None = None   # the app's seal, if the plan was made from it
    stamps: dict[str, str] = field(default_factory=dict)   # of the manifest units rendered

    @property
    def trusted(self) -> Collection[Key]:
        """Keys in sync by the app's seal: neither read nor diffed."""
        return self.sealed.trusted if self.sealed is not None else ()


def _provider_of(ws: Workspace) -> Callable[[Key], Provider]:
    def provider_of(key: Key) -> Provider:
        return ws.provider(key.target, key.kind)
    return provider_of


def read_live(ws: Workspace, wanted: Iterable[Resource],
              recorded: Mapping[Key, Resource]) -> dict[Key, Resource]:
    """Live state of `wanted`, one batched read per provider instance."""
    provider_of = _provider_of(ws)
    groups: dict[int, tuple[Provider, list[Resource]]] = {}
    for res in wanted:
        provider = provider_of(res.key)
        groups.setdefault(id(provider), (provider, []))[1].append(res)
    live: dict[Key, Resource] = {}
    for provider, resources in groups.values():
        known = {r.key: recorded[r.key] for r in resources if r.key in recorded}
        live.update(provider.read(resources, known))
    return live


def _prepare(ws: Workspace, name: str, desired: list[Resource] | Rendered | None = None,
             only: Key | None = None) -> _Prepared:
    snapshot, app, pinned = ws.snapshot_for(name)
    if desired is None:
        desired = render_app(snapshot, app, ws.system(), ws.state_dir)
    rendered = desired if isinstance(desired, Rendered) else Rendered(desired)
    sealed = _sealed_state(ws, name, app, rendered) if only is None else None
    desired = rendered.everything() if sealed is None else rendered.resources
    if sealed is not None:
        inventory, recorded, trusted = sealed.inventory, sealed.recorded, sealed.trusted
    else:
        inventory, recorded, trusted = ws.store.inventory(name), ws.store.recorded(name), {}
    wanted = {r.key for r in desired}
    gone = [r for k, r in inventory.items() if k not in wanted]
    live = read_live(ws, [r for r in [*desired, *gone] if r.key not in trusted], recorded)
    live.update(trusted)
    provider_of = _provider_of(ws)

    def differ(want: Resource, seen: Resource | None) -> Change:
        if want.key in trusted:
            return Change(want.key, Action.noop, want, seen)
        return provider_of(want.key).diff(want, seen)

    settled = sum(sealed.settled.values()) if sealed is not None else 0
    # Settled resources are declared too: what is loaded may be empty without the
    # render being so (a deleted manifest beside unchanged ones).
    plan = plan_changes(snapshot.revision, desired, live, inventory, differ,
                        prune=app.sync.prune, allow_empty=app.sync.allow_empty or settled > 0)
    plan = Plan(plan.revision, plan.changes, settled)
    if only is not None:
        # A sync of one resource: its change alone; nothing else applied or pruned.
        chosen = tuple(c for c in plan.changes if c.key == only)
        if not chosen:
            raise GitwardError(f"app {name} has no resource {only} at "
                               f"{snapshot.revision[:12]}")
        plan = Plan(plan.revision, chosen)
        desired = [r for r in desired if r.key == only]
    return _Prepared(app, snapshot, desired, inventory, live, plan, pinned, sealed,
                     rendered.stamps)


def _sealed_state(ws: Workspace, name: str, app: AppSpec, rendered: Rendered
                  ) -> SealedState | None:
    """What the app's seal vouches for, in a one-shot command that keeps seals."""
    if not ws.seal:
        return None
    from gitward.engine.seal import sealed_state

    root = os.path.expanduser(ws.target(app.target).root)
    return sealed_state(ws, name, root, rendered)


def _health(ws: Workspace, desired: list[Resource], live: Mapping[Key, Resource],
            differs: Collection[Key] = ()) -> dict[Key, Health]:
    """Each resource's health; one that exists but differs from Git (its content or
    mode was changed by hand) is degraded whatever its provider says."""
    provider_of = _provider_of(ws)
    healths = {r.key: provider_of(r.key).health(live.get(r.key)) for r in desired}
    for key in differs:
        if healths.get(key) is Health.healthy:
            healths[key] = Health.degraded
    return healths


def _differing(plan: Plan) -> set[Key]:
    return {c.key for c in plan.pending if c.action in (Action.update, Action.replace)}


def _app_health(app: AppSpec, healths: Mapping[Key, Health]) -> tuple[Health, str | None]:
    """Worst of the resources' health and, if the app has one, its probe's."""
    health = worst_health(healths.values())
    if app.probe is None:
        return health, None
    from gitward.engine.probes import run_probe

    probed, said = run_probe(app.probe)
    return worst_health([health, probed]), said


def plan_app(ws: Workspace, name: str, desired: list[Resource] | Rendered | None = None,
             *, probe: bool = True) -> AppReport:
    """What a sync of `name` would do now; applies nothing and records nothing."""
    prep = _prepare(ws, name, desired)
    healths = _health(ws, prep.desired, prep.live, _differing(prep.plan))
    health, said = _app_health(prep.app, healths) if probe else (
        worst_health(healths.values()), None)
    return AppReport(name, prep.snapshot.revision, prep.snapshot.subject, prep.plan,
                     health, pinned=prep.pinned, healths=healths, probe=said)


def sync_app(ws: Workspace, name: str, *, trigger: str = "manual", dry_run: bool = False,
             desired: list[Resource] | Rendered | None = None, progress: Progress | None = None,
             workers: int = 8, should_stop: Callable[[], bool] | None = None,
             wait: float = 0.0, only: Key | None = None) -> AppReport:
    """Converge one app and record every step; see the package docstring.

    `should_stop` is asked between changes: once it says yes, the change in
    hand finishes and the rest are recorded as skipped (SIGTERM). `wait` is how
    long to wait for another process's operation on the app to end."""
    if dry_run:
        return plan_app(ws, name, desired)
    store = ws.store
    with ws.lock(name, wait=wait):
        # A run still `running` now belongs to a process that died holding the lock.
        store.interrupt_running(name)
        started_ns = time.time_ns()
        prep = _prepare(ws, name, desired, only)
        run = store.begin(name, prep.snapshot.revision, prep.plan, trigger=trigger,
                          subject=prep.snapshot.subject)
        if prep.plan.pending:
            _planned_event(store, name, prep.plan, trigger)
        results: list[Result] = []
        total = len(prep.plan.pending)
        if progress:
            progress(name, 0, total)

        finished = [0]

        def advance(result: Result) -> None:
            finished[0] += 1
            if progress:
                progress(name, finished[0], total)
        try:
            results = apply_plan(prep.plan, _provider_of(ws), store, run, prep.inventory,
                                 workers=workers, progress=advance if progress else None,
                                 should_stop=should_stop)
            ws.flush()
            _remember_noops(ws, name, prep)
            after = dict(prep.live)
            for result in results:
                if result.ok and result.change.desired and result.live_after is not None:
                    after[result.change.key] = result.live_after
            failed = {r.change.key for r in results if not r.ok} & _differing(prep.plan)
            healths = _health(ws, prep.desired, after, failed)
            health, said = _app_health(prep.app, healths)
            outcome = _outcome(results)
            first_error = next((f"{r.change.key}: {r.error}" for r in results if not r.ok),
                               None)
        except BaseException as crash:
            # Ctrl-C or SIGTERM mid-apply is an interruption, anything else a failure.
            ended = Outcome.failed if isinstance(crash, Exception) else Outcome.interrupted
            store.finish(run, ended.value, Health.unknown,
                         error=f"{type(crash).__name__}: {crash}")
            raise
        store.finish(run, outcome.value, health, error=first_error)
        _pruned_event(store, name, results, prep.snapshot.revision)
        tree_id = prep.snapshot.tree_id(prep.app.path)
        store.note_synced(name, prep.snapshot.revision, tree_id)
        if ws.seal and only is None:
            _seal(ws, name, prep, after, results, run, outcome, health, tree_id, started_ns)
    report = AppReport(name, prep.snapshot.revision, prep.snapshot.subject, prep.plan, health,
                       results, outcome, run, first_error, pinned=prep.pinned,
                       healths=healths, probe=said)
    counts = report.tally()
    store.event(name, "synced" if outcome is Outcome.succeeded else "sync-failed",
                f"{outcome.value} at {prep.snapshot.revision[:12]} ({trigger}): "
                + ", ".join(f"{v} {k}" for k, v in counts.items() if v),
                revision=prep.snapshot.revision, data={"run": run, "trigger": trigger})
    return report


def _seal(ws: Workspace, name: str, prep: _Prepared, after: Mapping[Key, Resource],
          results: list[Result], run: int, outcome: Outcome, health: Health,
          tree_id: str | None, started_ns: int) -> None:
    """Seal the app for the next one-shot sync if it is converged and sealable."""
    from gitward.engine import seal

    if (outcome is Outcome.succeeded and health is Health.healthy and prep.app.probe is None
            and prep.pinned is None and seal.sealable(prep.desired, after)
            and not _left_in_inventory(prep.plan, results)):
        root = os.path.expanduser(ws.target(prep.app.target).root)
        seal.remember_app(ws, name, prep.snapshot.revision, run, root, tree_id, started_ns,
                          prep.desired, after, prep.stamps, planned_from=prep.sealed)
    else:
        seal.forget_app(ws, name)


def _left_in_inventory(plan: Plan, results: list[Result]) -> set[Key]:
    """Keys the inventory still holds after the run although Git no longer has them:
    prunes that were off, refused or failed (an absent one is forgotten)."""
    pruned = {r.change.key for r in results if r.ok and r.change.action is Action.delete}
    return {c.key for c in plan.changes if c.desired is None and c.key not in pruned
            and not (c.action is Action.noop and c.live is None)}


def _planned_event(store: Store, name: str, plan: Plan, trigger: str) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in plan.counts().items() if v and k != "noop")
    keys = [f"{c.action.value} {c.key}" for c in plan.pending]
    store.event(name, "planned", f"{counts} ({trigger})", revision=plan.revision,
                data={"changes": keys[:100]})


def _pruned_event(store: Store, name: str, results: list[Result], revision: str) -> None:
    pruned = [str(r.change.key) for r in results
              if r.ok and r.change.action is Action.delete]
    if pruned:
        store.event(name, "pruned", f"removed {len(pruned)} resource(s) no longer in Git: "
                    + ", ".join(pruned[:10]), revision=revision, data={"keys": pruned})


def _remember_noops(ws: Workspace, name: str, prep: _Prepared) -> None:
    """Put in-sync resources that the inventory lacks (or has stale) into it, so a
    later prune knows them: e.g. a file that already had the desired content."""
    from gitward.stores.codec import redact_spec

    entries = []
    for change in prep.plan.changes:
        desired = change.desired
        if change.action is not Action.noop or desired is None or change.key in prep.trusted:
            continue   # a trusted resource is in the inventory as sealed
        known = prep.inventory.get(change.key)
        if known is None:
            adopt_backup(ws.store, _provider_of(ws)(change.key), change)
        if known is None or known.spec != redact_spec(desired.spec, desired.sensitive):
            entries.append((desired, change.live))
    if entries:
        ws.store.remember(name, entries)
    absent = [c.key for c in prep.plan.changes
              if c.action is Action.noop and c.desired is None and c.live is None]
    if absent:
        ws.store.forget(name, absent)


def _outcome(results: list[Result]) -> Outcome:
    if any(r.skipped and r.error == STOPPING for r in results):
        return Outcome.interrupted
    if all(r.ok for r in results):
        return Outcome.succeeded
    if any(r.ok for r in results):
        return Outcome.partial
    return Outcome.failed


def app_order(ws: Workspace, names: Iterable[str]) -> list[str]:
    """`names` plus nothing else, dependencies first, ties by name."""
    apps = ws.system().apps
    return order_apps({name: app.depends_on for name, app in apps.items()}, names)


def sync_apps(ws: Workspace, names: Iterable[str], *, trigger: str = "manual",
              dry_run: bool = False, progress: Progress | None = None,
              on_report: Callable[[AppReport], None] | None = None,
              wait: float = 0.0) -> list[AppReport]:
    """Sync apps in dependency order; hold an app whose dependency is not ready.

    Every app is rendered (and cross-checked for shared keys and paths) before
    anything is applied, so a bad manifest anywhere applies nothing.
    """
    order = app_order(ws, names)
    system = ws.system()
    head = ws.snapshot()
    if ws.seal and not dry_run:
        from gitward.engine.seal import remember_system

        remember_system(ws, head.revision,
                        {name: app.depends_on for name, app in system.apps.items()})
    unpinned = [n for n in system.apps if not ws.store.app_state(n).pinned]
    # A sync that keeps seals may count unchanged manifests without loading them.
    rendered: Mapping[str, list[Resource] | Rendered] = (
        render_for_sync(head, system, unpinned, ws.state_dir) if ws.seal and not dry_run
        else render_apps(head, system, unpinned, ws.state_dir))
    reports: dict[str, AppReport] = {}
    for name in order:
        blocker = _blocking_dependency(system.apps[name], reports)
        if blocker and not dry_run:
            report = AppReport(name, head.revision, head.subject, Plan(head.revision),
                               Health.unknown, held=blocker)
            ws.store.event(name, "held", blocker, revision=head.revision)
        else:
            report = sync_app(ws, name, trigger=trigger, dry_run=dry_run,
                              desired=rendered.get(name), progress=progress, wait=wait)
        reports[name] = report
        if on_report:
            on_report(report)
    return [reports[n] for n in order]


def _blocking_dependency(app: AppSpec, reports: Mapping[str, AppReport]) -> str | None:
    for dep in app.depends_on:
        got = reports.get(dep)
        if got is None:
            continue
        if got.held:
            return f"held: dependency {dep} is held ({got.held})"
        if got.outcome is not Outcome.succeeded:
            return f"held: dependency {dep} did not sync ({got.outcome or got.error})"
        if got.health is not Health.healthy:
            return f"held: dependency {dep} is {got.health}, not healthy"
    return None
