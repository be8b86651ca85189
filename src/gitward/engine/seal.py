"""The seal of a converged app: a one-shot sync that finds nothing new, fast.

After a CLI sync leaves an app converged (succeeded, healthy, no probe, no
pin, only File and Directory resources, its inventory exactly what it
declares), `remember_app` seals it: the revision, the run, the desired
resources and each one's live facts as that run verified them (lstat facts,
and a file's sha256). The next `gitward sync` first tries `sealed_sync`: if
the branch still points at that revision, no other run touched the app since
(its newest run is the sealed one) and every path's lstat still gives the
sealed facts, the app is in sync. The run is recorded as usual (journal,
outcome, health, event) and nothing else is loaded: no system map, no
renderer, no planner, no pydantic models, no libgit2.

Anything else falls back to the full sync, which is always right: a new
commit, another run, a pin, a path whose facts differ. A file whose ctime is
not clearly older than the run that sealed it might have been written in the
same clock tick after that run's lstat (git's "racy" entries); it is read and
hashed instead of trusted. Its facts stay as sealed (the lstat just found them
so), and the seal now dates from this run, so the next one trusts them.

The full sync of a new commit asks the seal too (`sealed_state`): so long as
no other run touched the app, the seal is its inventory, and a resource that
Git still declares as sealed, at a path whose facts are as sealed, is in sync
without being read or compared. Only what the commit changed, what drifted
and what went away is looked at, so the cost of a sync follows the change,
not the size of the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward.core.errors import GitwardError
from gitward.core.model import Action, Change, Health, Key, Outcome, Plan, Resource
from gitward.core.order import order_apps
from gitward.engine import seal_payload
from gitward.engine.cache import load_entry, save_entry
from gitward.engine.report import AppReport

if TYPE_CHECKING:
    from gitward.engine.workspace import Workspace
    from gitward.providers.connection import LocalConnection

__all__ = ["AppSeal", "SealedState", "forget_app", "remember_app", "remember_system",
           "sealable", "sealed_state", "sealed_sync"]

SEAL_FORMAT = 6
SEALABLE_KINDS = frozenset({"File", "Directory"})
RACY_NS = 50_000_000   # a ctime this close to the sealing run's start is not trusted



@dataclass(frozen=True, slots=True)
class AppSeal:
    """One converged app as its last run left it: the small part, rewritten by
    every sealed sync, and the name of the file holding its resources."""

    revision: str
    run: int
    root: str                        # the host directory of the app's target
    tree_id: str | None
    started_ns: int                  # when that run began to look at the target
    resources: str                   # file name of (desired, live) beside the index


def _index_file(ws: Workspace) -> Path:
    # One per repository, ref, store and roots: another store or root override
    # must never take this one's word.
    key = repr((SEAL_FORMAT, ws.repo, ws.ref, getattr(ws.store, "url", None),
                sorted(ws.root_overrides.items())))
    return ws.state_dir / "cache" / "seal" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def remember_system(ws: Workspace, revision: str, depends_on: Mapping[str, Sequence[str]]
                    ) -> None:
    """Note which apps the system map has at `revision` (the seal of `--all`).

    Apps sealed at an earlier revision keep their seals: the sync of the new
    commit plans from them (`sealed_state`) and then seals them afresh."""
    path = _index_file(ws)
    entry = load_entry(path)
    deps = {k: list(v) for k, v in depends_on.items()}
    if entry.get("revision") == revision and entry.get("depends_on") == deps:
        return   # noted by an earlier sync at this revision
    apps = entry.get("apps", {})
    save_entry(path, {"revision": revision, "depends_on": deps,
                      "apps": {k: v for k, v in apps.items() if k in depends_on}})


def remember_app(ws: Workspace, name: str, revision: str, run: int, root: str,
                 tree_id: str | None, started_ns: int, desired: Sequence[Resource],
                 live: Mapping[Key, Resource], planned_from: SealedState | None = None) -> None:
    """Seal `name` as run `run` verified it: `live` holds each desired key's facts.

    A run planned from the seal (`planned_from`) writes only what it changed
    (see `gitward.engine.seal_payload`)."""
    path = _index_file(ws)
    entry = load_entry(path)
    if entry.get("revision") != revision:
        return  # the system map at this revision was not noted: nothing to add to
    resources = f"{path.name}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    if planned_from is None:
        seal_payload.save(path.with_name(resources), desired, live, None, (), ())
    else:
        seal_payload.save(path.with_name(resources), desired, live, planned_from.delta,
                          planned_from.trusted, planned_from.inventory)
    seal = AppSeal(revision, run, root, tree_id, started_ns, resources)
    save_entry(path, {**entry, "apps": {**entry.get("apps", {}), name: seal}})


def forget_app(ws: Workspace, name: str) -> None:
    path = _index_file(ws)
    entry = load_entry(path)
    if name in entry.get("apps", {}):
        apps = {k: v for k, v in entry["apps"].items() if k != name}
        save_entry(path, {**entry, "apps": apps})


def sealable(desired: Iterable[Resource], live: Mapping[Key, Resource]) -> bool:
    return all(r.key.kind in SEALABLE_KINDS and r.key in live for r in desired)


def sealed_sync(ws: Workspace, names: Sequence[str], all_apps: bool, *, wait: float = 0.0
                ) -> list[AppReport] | None:
    """Record a sync of `names` (or of every app) if all are sealed and unchanged,
    and return its reports; None when the full sync has to look."""
    path = _index_file(ws)
    entry = load_entry(path)
    depends_on: dict[str, list[str]] = entry.get("depends_on", {})
    if not depends_on:
        return None
    if not names:
        if not all_apps and len(depends_on) > 1:
            return None   # the full path explains that apps must be named
        names = sorted(depends_on)
    seals: dict[str, AppSeal] = entry.get("apps", {})
    if any(not isinstance(seals.get(name), AppSeal) for name in names):
        return None
    snapshot = ws.snapshot()
    if snapshot.revision != entry.get("revision") or any(
            seals[name].revision != snapshot.revision for name in names):
        return None
    order = order_apps(depends_on, names)
    with contextlib.ExitStack() as locks:
        for name in sorted(order):
            locks.enter_context(ws.lock(name, wait=wait))
        started_ns = time.time_ns()
        checked = {name: _verify(ws, name, seals[name], path.with_name(seals[name].resources))
                   for name in order}
        if any(found is None for found in checked.values()):
            return None
        reports = []
        for name in order:
            desired, live = checked[name] or ((), ())
            reports.append(_record(ws, name, snapshot.revision, snapshot.subject, desired,
                                   live, seals[name].tree_id))
            seals[name] = replace(seals[name], run=reports[-1].run_id or 0,
                                  started_ns=started_ns)
        save_entry(path, {**entry, "apps": seals})
    return reports


def _verify(ws: Workspace, name: str, seal: AppSeal, resources: Path
            ) -> seal_payload.Pair | None:
    """(desired, live) as sealed if the app is still so, else None."""
    loaded = _sealed_payload(ws, name, seal, resources)
    if loaded is None:
        return None
    from gitward.providers.connection import LocalConnection

    connection = LocalConnection(seal.root)
    inside: set[str] = set()
    for want, was in zip(*loaded[0], strict=True):
        host = _unchanged(connection, was, inside)
        # A racy file is read after the lstat that found its sealed facts: if it
        # changes after, its facts move; if it changed before, its bytes differ.
        if host is None or (_racy(was.spec, seal) and not _holds(host, want.spec.get("sha256"))):
            return None
    return loaded[0]


def _sealed_payload(ws: Workspace, name: str, seal: AppSeal, resources: Path
                    ) -> tuple[seal_payload.Pair, seal_payload.Delta] | None:
    """The sealed (desired, live) if the seal still holds: ours, no pin, and no run
    of the app since the sealing one (which alone may change its inventory)."""
    if not seal.root.startswith("/"):
        return None   # written by another gitward: not ours to trust
    state = ws.store.app_state(name)
    if state.pinned:
        return None
    newest = ws.store.history(name, limit=1)
    if not newest or newest[0].id != seal.run or newest[0].outcome is not Outcome.succeeded:
        return None
    return seal_payload.load(resources)


def _unchanged(connection: LocalConnection, sealed: Resource, inside: set[str]) -> str | None:
    """The host path of a sealed live resource if it still gives its sealed facts.

    Each directory is proved inside the target root once per look (through
    `host_path`, which refuses a symlink out of it); its other files are
    lstat'ed directly. This only ever trusts a path whose facts, inode and
    ctime included, are the sealed ones, so what it finds is the sealed file."""
    from gitward.providers.file_facts import lstat_matches

    path = sealed.spec["path"]
    parent = path.rpartition("/")[0]
    try:
        if parent in inside:
            host = path if connection.root == "/" else connection.root + path
        else:
            host = connection.host_path(path)
            inside.add(parent)
        return host if lstat_matches(sealed.spec, os.lstat(host)) else None
    except (OSError, GitwardError):
        return None


def _holds(host: str, sha256: str | None) -> bool:
    """Whether the regular file at `host` holds bytes of this sha256."""
    try:
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    except OSError:
        return False
    finally:
        os.close(fd)
    return digest.hexdigest() == sha256


def _racy(facts: Mapping[str, Any], seal: AppSeal) -> bool:
    return bool(facts.get("type") == "file" and facts["ctime_ns"] >= seal.started_ns - RACY_NS)


@dataclass(frozen=True, slots=True)
class SealedState:
    """What an app's seal vouches for in a full sync, at any revision.

    `inventory` and `recorded` stand for the store's (the sealing run left the
    inventory exactly as it declared), and `trusted` holds the live state of
    each desired resource that Git still declares as sealed at a path whose
    facts are as sealed: those are in sync without a read or a diff."""

    inventory: dict[Key, Resource]
    recorded: dict[Key, Resource]
    trusted: dict[Key, Resource]
    delta: seal_payload.Delta   # what the sealing runs wrote beside the resources in full


def sealed_state(ws: Workspace, name: str, root: str, desired: Sequence[Resource]
                 ) -> SealedState | None:
    """The seal of `name` (its target now at host directory `root`) as it bears on
    syncing `desired`; None if the app has no seal that still holds."""
    index = _index_file(ws)
    seal = load_entry(index).get("apps", {}).get(name)
    if not isinstance(seal, AppSeal) or seal.root != root:
        return None
    loaded = _sealed_payload(ws, name, seal, index.with_name(seal.resources))
    if loaded is None:
        return None
    pair, delta = loaded
    from gitward.providers.connection import LocalConnection

    connection = LocalConnection(root)
    inventory = {r.key: r for r in pair[0]}
    # A file whose sealed ctime is too close to the sealing run may have changed
    # since in the same clock tick: its sealed sha256 must not stand for its bytes.
    recorded = {r.key: r for r in pair[1] if not _racy(r.spec, seal)}
    trusted: dict[Key, Resource] = {}
    inside: set[str] = set()
    for want in desired:
        was = inventory.get(want.key)
        sealed_live = recorded.get(want.key)
        if was is None or sealed_live is None or not _same_intent(was, want):
            continue
        if _unchanged(connection, sealed_live, inside) is not None:
            trusted[want.key] = sealed_live
    return SealedState(inventory, recorded, trusted, delta)


def _same_intent(a: Resource, b: Resource) -> bool:
    """Whether two desired resources ask for the same (where they were written aside)."""
    return (a.spec == b.spec and a.wave == b.wave and a.depends_on == b.depends_on
            and a.prune == b.prune and a.claim == b.claim and a.sensitive == b.sensitive)


def _record(ws: Workspace, name: str, revision: str, subject: str,
            desired: Sequence[Resource], live: Sequence[Resource], tree_id: str | None
            ) -> AppReport:
    store = ws.store
    plan = Plan(revision, tuple(Change(d.key, Action.noop, d, lv)
                                for d, lv in zip(desired, live, strict=True)))
    run = store.begin(name, revision, plan, trigger="manual", subject=subject)
    store.finish(run, Outcome.succeeded.value, Health.healthy)
    store.note_synced(name, revision, tree_id)
    store.event(name, "synced", f"succeeded at {revision[:12]} (manual): "
                f"{len(plan.changes)} unchanged",
                revision=revision, data={"run": run, "trigger": "manual"})
    healths: dict[Key, Health] = {d.key: Health.healthy for d in desired}
    return AppReport(name, revision, subject, plan, Health.healthy, [], Outcome.succeeded, run,
                     healths=healths)
