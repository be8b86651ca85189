"""How a seal keeps its resources on disk: in full, plus a delta.

An app's seal holds every desired resource and its live facts. A sync of a
new commit planned from the seal changes a few of them; rewriting all of them
(7 MB at 10,000 files) would make a one-file commit cost as much as the app.
So the resources are written in full under a nonce, and later runs write only
a `Delta` naming that nonce: (desired, live) of what they changed, and the
keys gone. `load` applies it; once it passes a sixteenth of the resources,
the next run writes them in full again. A delta whose nonce is not the full
writing's (a crash between the two writes) is ignored: the full one is newer.
One that cannot be read voids the seal: the full sync looks at everything.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.core.model import Key, Resource
from gitward.engine.cache import load_entry, save_entry

__all__ = ["Delta", "Pair", "load", "save", "save_full"]

Pair = tuple[tuple[Resource, ...], tuple[Resource, ...]]   # (desired, live) as sealed


@dataclass(frozen=True, slots=True)
class Delta:
    """What runs planned from the seal changed since its resources were written
    in full (`nonce` names that writing): (desired, live) by key, and keys gone."""

    nonce: str
    changed: dict[Key, tuple[Resource, Resource]]
    gone: frozenset[Key]


def save(payload: Path, desired: Sequence[Resource], live: Mapping[Key, Resource],
         base: Delta | None, unchanged: Collection[Key], sealed: Collection[Key]) -> None:
    """Seal `desired` with the facts in `live`: as a delta over `base` (the delta
    the run was planned from; `unchanged` keys kept their sealed state, `sealed`
    are the keys it held) while that stays small, else in full."""
    if base is not None:
        changed = dict(base.changed)
        gone = set(base.gone)
        for res in desired:
            if res.key not in unchanged:   # read, and perhaps applied: its facts are new
                changed[res.key] = (res, live[res.key])
                gone.discard(res.key)
        for key in set(sealed) - {r.key for r in desired}:
            changed.pop(key, None)
            gone.add(key)
        if len(changed) + len(gone) <= max(64, len(desired) // 16):
            save_entry(_delta_file(payload),
                       {"delta": Delta(base.nonce, changed, frozenset(gone))})
            return
    save_full(payload, desired, [live[r.key] for r in desired])


def save_full(payload: Path, desired: Sequence[Resource], live: Sequence[Resource]) -> None:
    """Write the sealed resources in full, under a new nonce (no delta applies)."""
    save_entry(payload, {"resources": (tuple(desired), tuple(live)),
                         "nonce": secrets.token_hex(8)})
    _delta_file(payload).unlink(missing_ok=True)


def load(payload: Path) -> tuple[Pair, Delta] | None:
    """The sealed (desired, live), with the delta of later runs applied."""
    entry = load_entry(payload)
    pair, nonce = entry.get("resources"), entry.get("nonce")
    if not isinstance(pair, tuple) or len(pair) != 2 or len(pair[0]) != len(pair[1]) \
            or not isinstance(nonce, str):
        return None
    delta = load_entry(_delta_file(payload)).get("delta")
    if not isinstance(delta, Delta):
        # Unreadable, it would leave out what later runs added: no seal at all.
        return None if _delta_file(payload).exists() else (pair, Delta(nonce, {}, frozenset()))
    if delta.nonce != nonce:
        return pair, Delta(nonce, {}, frozenset())
    desired: list[Resource] = []
    live: list[Resource] = []
    for want, was in zip(*pair, strict=True):
        if want.key in delta.gone:
            continue
        want, was = delta.changed.get(want.key, (want, was))
        desired.append(want)
        live.append(was)
    known = {r.key for r in pair[0]}
    for key, (want, was) in delta.changed.items():
        if key not in known:
            desired.append(want)
            live.append(was)
    return (tuple(desired), tuple(live)), delta


def _delta_file(payload: Path) -> Path:
    return payload.with_name(payload.name + ".delta")
