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
without being read or compared. The seal keeps its resources by manifest file
(`gitward.engine.seal_payload`), and the render holds back the manifest units
it reused as they were (`gitward.engine.render.Rendered`): a held unit with
the stamp it was sealed with, whose every path gives its sealed facts, is
settled: counted in the plan, neither loaded nor planned nor sealed again.
Only what the commit changed, what drifted and what went away is looked at,
so the cost of a sync follows the change, not the size of the app: beyond
that, one lstat per file.
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
from gitward.core.model import Health, Key, Outcome, Plan, Resource
from gitward.core.order import order_apps
from gitward.engine import seal_payload
from gitward.engine.cache import load_entry, save_entry
from gitward.engine.report import AppReport

if TYPE_CHECKING:
    from gitward.engine.render import Rendered
    from gitward.engine.workspace import Workspace
    from gitward.providers.connection import LocalConnection

__all__ = ["AppSeal", "SealedState", "forget_app", "remember_app", "remember_system",
           "sealable", "sealed_state", "sealed_sync"]

SEAL_FORMAT = 8
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
    resources: str                   # file name of its `seal_payload` beside the index


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
                 live: Mapping[Key, Resource], stamps: Mapping[str, str],
                 planned_from: SealedState | None = None) -> None:
    """Seal `name` as run `run` verified it: `live` holds each desired key's facts,
    `stamps` the stamp of each manifest unit the resources came from.

    A run planned from the seal passes it (`planned_from`): the groups it found
    in sync without loading them are kept as they were sealed."""
    path = _index_file(ws)
    entry = load_entry(path)
    if entry.get("revision") != revision:
        return  # the system map at this revision was not noted: nothing to add to
    resources = f"{path.name}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    if planned_from is None:
        payload = seal_payload.build(desired, live, stamps)
    else:
        payload = seal_payload.build(desired, live, stamps, planned_from.payload,
                                     planned_from.settled)
    seal_payload.save(path.with_name(resources), payload)
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
            reports.append(_record(ws, name, snapshot.revision, snapshot.subject,
                                   checked[name] or 0, seals[name].tree_id))
            seals[name] = replace(seals[name], run=reports[-1].run_id or 0,
                                  started_ns=started_ns)
        save_entry(path, {**entry, "apps": seals})
    return reports


def _verify(ws: Workspace, name: str, seal: AppSeal, resources: Path) -> int | None:
    """How many resources the app has if it is still as sealed, else None."""
    payload = _sealed_payload(ws, name, seal, resources)
    if payload is None:
        return None
    from gitward.providers.connection import LocalConnection

    connection = LocalConnection(seal.root)
    inside: set[str] = set()
    count = 0
    for group in payload.facts:
        facts = payload.facts_of(group)
        if not _as_sealed(connection, facts, inside, seal):
            return None
        count += len(facts)
    return count


def _sealed_payload(ws: Workspace, name: str, seal: AppSeal, resources: Path
                    ) -> seal_payload.Payload | None:
    """The sealed payload if the seal still holds: ours, no pin, and no run of
    the app since the sealing one (which alone may change its inventory)."""
    if not seal.root.startswith("/"):
        return None   # written by another gitward: not ours to trust
    state = ws.store.app_state(name)
    if state.pinned:
        return None
    newest = ws.store.history(name, limit=1)
    if not newest or newest[0].id != seal.run or newest[0].outcome is not Outcome.succeeded:
        return None
    return seal_payload.load(resources)


def _unchanged(connection: LocalConnection, facts: Mapping[str, Any], inside: set[str]
               ) -> str | None:
    """The host path of a sealed live resource (its live spec: `facts`) if it
    still gives its sealed facts. This only ever trusts a path whose facts,
    inode and ctime included, are the sealed ones, so what it finds is the
    sealed file."""
    from gitward.providers.file_facts import lstat_matches

    try:
        host = _host(connection, facts["path"], inside)
        return host if lstat_matches(facts, os.lstat(host)) else None
    except (OSError, GitwardError):
        return None


def _host(connection: LocalConnection, path: str, inside: set[str]) -> str:
    """The host path of target `path`. Each directory is proved inside the target
    root once per look (through `host_path`, which refuses a symlink out of
    it); its other files are joined directly."""
    parent = path.rpartition("/")[0]
    if parent in inside:
        return path if connection.root == "/" else connection.root + path
    host = connection.host_path(path)
    inside.add(parent)
    return host


def _as_sealed(connection: LocalConnection, facts: seal_payload.Facts, inside: set[str],
               seal: AppSeal) -> bool:
    """Whether every path of `facts` still gives its sealed facts (`_unchanged`
    for a whole group: it runs once per file of the app). A racy file is read
    after the lstat that found its sealed facts: if it changes after, its
    facts move; if it changed before, its bytes differ."""
    from gitward.providers.file_facts import lstat_facts

    racy_from = _racy_from(seal)
    try:
        for path, key, ctime, sha256 in facts:
            if key is None:
                return False
            host = _host(connection, path, inside)
            if lstat_facts(os.lstat(host), len(key)) != key:
                return False
            if ctime is not None and ctime >= racy_from and not _holds(host, sha256):
                return False
    except (OSError, GitwardError, ValueError, TypeError):   # gone, or facts not ours
        return False
    return True


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
    return bool(facts.get("type") == "file" and facts["ctime_ns"] >= _racy_from(seal))


def _racy_from(seal: AppSeal) -> int:
    """The ctime from which a file is too close to the sealing run to be trusted."""
    return seal.started_ns - RACY_NS


@dataclass(frozen=True, slots=True)
class SealedState:
    """What an app's seal vouches for in a full sync, at any revision.

    `settled` are the groups (manifest files) that were held unloaded by the
    render (`Rendered.held`: reused as they were, with the stamp they were
    sealed with) and whose every path still gives its sealed facts: in sync,
    counted, never loaded. For the rest, `inventory` and `recorded` stand for
    the store's (the sealing run left the inventory exactly as it declared),
    and `trusted` holds the live state of each desired resource that Git
    still declares as sealed at a path whose facts are as sealed: those are
    in sync without a read or a diff."""

    inventory: dict[Key, Resource]
    recorded: dict[Key, Resource]
    trusted: dict[Key, Resource]
    settled: dict[str, int]             # group -> how many resources it holds
    payload: seal_payload.Payload       # as read: settled groups are kept from it


def sealed_state(ws: Workspace, name: str, root: str, rendered: Rendered
                 ) -> SealedState | None:
    """The seal of `name` (its target now at host directory `root`) as it bears on
    syncing `rendered`; None if the app has no seal that still holds. What is
    held in `rendered` and not settled is loaded into its resources."""
    index = _index_file(ws)
    seal = load_entry(index).get("apps", {}).get(name)
    if not isinstance(seal, AppSeal) or seal.root != root:
        return None
    payload = _sealed_payload(ws, name, seal, index.with_name(seal.resources))
    if payload is None:
        return None
    from gitward.providers.connection import LocalConnection

    connection = LocalConnection(root)
    inside: set[str] = set()
    settled = _settled(connection, inside, seal, payload, rendered)
    inventory: dict[Key, Resource] = {}
    recorded: dict[Key, Resource] = {}
    for want, was in payload.pairs_except(settled):
        inventory[want.key] = want
        # A file whose sealed ctime is too close to the sealing run may have changed
        # since in the same clock tick: its sealed sha256 must not stand for its bytes.
        if not _racy(was.spec, seal):
            recorded[was.key] = was
    trusted: dict[Key, Resource] = {}
    for want in rendered.resources:
        intent = inventory.get(want.key)
        sealed_live = recorded.get(want.key)
        if intent is None or sealed_live is None or not _same_intent(intent, want):
            continue
        if _unchanged(connection, sealed_live.spec, inside) is not None:
            trusted[want.key] = sealed_live
    return SealedState(inventory, recorded, trusted, settled, payload)


def _settled(connection: LocalConnection, inside: set[str], seal: AppSeal,
             payload: seal_payload.Payload, rendered: Rendered) -> dict[str, int]:
    """The held units of `rendered` that are in sync as sealed, by path, with how
    many resources each holds; the other held units are loaded."""
    settled: dict[str, int] = {}
    for path, unit in rendered.held.items():
        if payload.stamps.get(path) != unit.stamp or path not in payload.facts:
            continue
        facts = payload.facts_of(path)
        if len(facts) == len(unit.keys) and _as_sealed(connection, facts, inside, seal):
            settled[path] = len(facts)
    rendered.load([path for path in rendered.held if path not in settled])
    # What is loaded may depend on a settled resource: its unit is loaded too, so
    # that the plan checks the dependency (waves) as always.
    needed = {dep for res in rendered.resources for dep in res.depends_on}
    for path, unit in list(rendered.held.items()):
        if not needed.isdisjoint(unit.keys):
            rendered.load([path])
            del settled[path]
    return settled


def _same_intent(a: Resource, b: Resource) -> bool:
    """Whether two desired resources ask for the same (where they were written aside)."""
    return (a.spec == b.spec and a.wave == b.wave and a.depends_on == b.depends_on
            and a.prune == b.prune and a.claim == b.claim and a.sensitive == b.sensitive)


def _record(ws: Workspace, name: str, revision: str, subject: str, count: int,
            tree_id: str | None) -> AppReport:
    store = ws.store
    plan = Plan(revision, settled=count)
    run = store.begin(name, revision, plan, trigger="manual", subject=subject)
    store.finish(run, Outcome.succeeded.value, Health.healthy)
    store.note_synced(name, revision, tree_id)
    store.event(name, "synced", f"succeeded at {revision[:12]} (manual): {count} unchanged",
                revision=revision, data={"run": run, "trigger": "manual"})
    return AppReport(name, revision, subject, plan, Health.healthy, [], Outcome.succeeded, run)
