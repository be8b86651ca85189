"""From desired, live and inventory to an ordered `Plan`.

The three inputs are plain values: what Git says (`desired`), what the
providers read on the target (`live`, keyed by resource key, absent = missing)
and what this app applied before (`inventory`, the store's record). The
planner pairs them:

- desired and not live            -> create
- desired and live, different     -> update (or replace, as the kind's differ says)
- desired and live, equal         -> noop
- in inventory, no longer desired -> delete (prune), if pruning is on and the
  resource did not opt out; a noop with a reason otherwise (also when a
  desired resource now claims the same thing, e.g. a File renamed in Git but
  still at the same path: deleting the old one would remove the new one's file)

Prune input is inventory minus desired, never a scan of the target, so gitward
removes only what it created. An empty render with a non-empty inventory is
refused (`EmptyRenderError`) unless the app allows it: an empty render is far
more often a broken path or template than an intent to delete everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from gitward.core.errors import (
    ConflictError,
    DependencyCycleError,
    DuplicateResourceError,
    EmptyRenderError,
)
from gitward.core.model import Action, Change, Key, Plan, Resource
from gitward.core.order import order_resources

__all__ = ["Differ", "check_unique", "plan_changes"]

Differ = Callable[[Resource, Resource | None], Change]


def check_unique(resources: Iterable[Resource], *, app: str | None = None) -> None:
    """Refuse two resources with the same key, or with the same claim on one target."""
    keys: dict[Key, Resource] = {}
    claims: dict[tuple[str, str], Resource] = {}
    for res in resources:
        if res.key in keys:
            raise DuplicateResourceError(
                f"{res.key} is declared twice: at {_where(keys[res.key])} and at {_where(res)}"
                f"{f' (app {app})' if app else ''}; rename or remove one")
        keys[res.key] = res
        if res.claim is not None:
            claim = (res.key.target, res.claim)
            if claim in claims:
                other = claims[claim]
                raise ConflictError(
                    f"{res.key} at {_where(res)} and {other.key} at {_where(other)} both manage "
                    f"{res.claim} on target {res.key.target}; keep one of them")
            claims[claim] = res


def _where(res: Resource) -> str:
    return str(res.origin) if res.origin else "?"


def plan_changes(revision: str, desired: Sequence[Resource], live: Mapping[Key, Resource],
                 inventory: Mapping[Key, Resource], differ: Differ, *, prune: bool = True,
                 allow_empty: bool = False) -> Plan:
    """Pair desired with live and inventory, then order the changes.

    `differ` is the kind's pure diff (provider.diff). `inventory` maps each
    key this app applied before to the resource as it was last applied.
    """
    check_unique(desired)
    if not desired and inventory and not allow_empty:
        raise EmptyRenderError(
            f"the render is empty but {len(inventory)} resource(s) were applied before; "
            "nothing is pruned. Fix the path or templates, or set allow_empty: true "
            "in the app's sync policy to really remove everything")
    wanted = {r.key for r in desired}
    forward: dict[Key, Change] = {}
    for res in order_resources(desired):
        forward[res.key] = differ(res, live.get(res.key))
    claimed = {(r.key.target, r.claim): r.key for r in desired if r.claim is not None}
    gone = [inventory[k] for k in inventory if k not in wanted]
    prunes = [_prune_change(res, live.get(res.key), prune, claimed) for res in _prune_order(gone)]
    return Plan(revision, (*forward.values(), *prunes))


def _prune_order(gone: list[Resource]) -> list[Resource]:
    # The inventory holds each resource as last applied, possibly at different
    # revisions, so its dependencies may point outside the pruned set, to a
    # later wave, or (after a partly failed sync) round in a loop. None of that
    # is the user's to fix any more: keep the edges that make sense and, if
    # they still loop, fall back to wave, kind and name alone.
    by_key = {r.key: r for r in gone}

    def trimmed(keep_edges: bool) -> list[Resource]:
        return [Resource(r.key, r.spec, r.wave,
                         tuple(d for d in r.depends_on
                               if keep_edges and d in by_key and by_key[d].wave <= r.wave),
                         r.prune, r.claim, r.origin, r.sensitive) for r in gone]

    try:
        ordered = order_resources(trimmed(keep_edges=True))
    except DependencyCycleError:
        ordered = order_resources(trimmed(keep_edges=False))
    return [by_key[r.key] for r in reversed(ordered)]


def _prune_change(recorded: Resource, live: Resource | None, prune: bool,
                  claimed: Mapping[tuple[str, str], Key]) -> Change:
    if live is None:
        return Change(recorded.key, Action.noop, None, None, reason="already absent")
    owner = (claimed.get((recorded.key.target, recorded.claim))
             if recorded.claim is not None else None)
    if owner is not None:
        return Change(recorded.key, Action.noop, None, live,
                      reason=f"no longer in Git; {recorded.claim} is now managed by {owner}")
    if not prune:
        return Change(recorded.key, Action.noop, None, live,
                      reason="no longer in Git; prune is off for this app")
    if not recorded.prune:
        return Change(recorded.key, Action.noop, None, live,
                      reason="no longer in Git; marked gitward/prune: \"false\"")
    return Change(recorded.key, Action.delete, None, live)
