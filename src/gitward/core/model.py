"""The vocabulary every other part of gitward speaks.

A `Resource` is one end state, desired (rendered from Git) or live (read from a
target). Its identity is a `Key`. The planner pairs desired and live
resources into `Change`s, orders them into a `Plan`, the engine applies them
and gets `Result`s back, and the store keeps the whole story as a `Run`.

All types are immutable values; nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, NamedTuple

__all__ = [
    "Action",
    "Change",
    "DiffItem",
    "Health",
    "Key",
    "Origin",
    "Outcome",
    "Plan",
    "RecordedResult",
    "Resource",
    "Result",
    "Run",
    "worst_health",
]


class Key(NamedTuple):
    """Identity of a resource: its kind, the target it lives on, its name.

    A named tuple, so that hashing and comparing one (tens of times per
    resource in a sync: every map of the plan is keyed by it) run in C.
    Keys order by kind, target, name.

    >>> str(Key("File", "local", "motd"))
    'File/motd@local'
    """

    kind: str
    target: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}@{self.target}"

    @classmethod
    def parse(cls, text: str, default_target: str) -> Key:
        """Read `Kind/name` or `Kind/name@target` (the form used in `depends_on`)."""
        kind, sep, rest = text.strip().partition("/")
        name, at, target = rest.rpartition("@") if "@" in rest else (rest, "", "")
        if not sep or not kind or not name or (at and not target):
            raise ValueError(f"{text!r} is not a resource reference; write Kind/name[@target]")
        return cls(kind, target if at else default_target, name)


class Origin(NamedTuple):
    """Where a desired resource was written: repository path and 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class Resource(NamedTuple):
    """A desired or live end state.

    `spec` is plain JSON-like data, treated as immutable. `claim` is the
    identity of the thing on the target that this resource owns (for host
    kinds the absolute path, e.g. ``fs:/etc/motd``): two resources with the
    same target and claim are a conflict even under different names.
    `sensitive` names spec fields whose values must never be shown or stored.

    A named tuple, like `Key`: a sync of a large app reads tens of thousands
    of them back from its caches, and a tuple is rebuilt in C. It cannot be
    hashed (its spec is a dict).
    """

    key: Key
    spec: Mapping[str, Any]
    wave: int = 0
    depends_on: tuple[Key, ...] = ()
    prune: bool = True
    claim: str | None = None
    origin: Origin | None = None
    sensitive: frozenset[str] = frozenset()


class Action(Enum):
    """What to do about one key. (Not a str subclass: `replace` would shadow str.replace.)"""

    noop = "noop"
    create = "create"
    update = "update"
    replace = "replace"
    delete = "delete"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DiffItem:
    """One field that differs: `op` is add, remove or change; `path` reads like
    ``spec.mode`` or ``spec.users[2].name``."""

    op: str
    path: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True)
class Change:
    """The desired/live pair for one key and what to do about it.

    ``desired is None`` means prune; ``live is None`` means create. `reason`
    says why a change is a noop when that is not obvious (e.g. prune disabled).
    """

    key: Key
    action: Action
    desired: Resource | None
    live: Resource | None
    fields: tuple[DiffItem, ...] = ()
    reason: str | None = None

    @property
    def resource(self) -> Resource:
        """The side that describes the resource best: desired, else live."""
        found = self.desired or self.live
        assert found is not None, f"change for {self.key} has neither side"
        return found


@dataclass(frozen=True, slots=True)
class Plan:
    """Changes already in apply order (wave, dependencies, kind, name; prunes last).

    `settled` counts resources known to be in sync that have no change of
    their own here: a sync of a sealed app counts the files of a manifest
    that is as it was sealed, and still on the target as sealed, without
    loading them. They are noops in `counts`."""

    revision: str
    changes: tuple[Change, ...] = ()
    settled: int = 0

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.noop)

    @property
    def in_sync(self) -> bool:
        return not self.pending

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for change in self.changes:
            out[change.action.value] += 1
        out[Action.noop.value] += self.settled
        return out


@dataclass(frozen=True, slots=True)
class Result:
    change: Change
    ok: bool
    error: str | None = None
    live_after: Resource | None = None
    duration: float = 0.0
    skipped: bool = False


class Health(StrEnum):
    """Health of a resource or an app; an app is as healthy as its worst part."""

    healthy = "healthy"
    progressing = "progressing"
    unknown = "unknown"
    missing = "missing"
    degraded = "degraded"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        return _HEALTH_ORDER.index(self)


_HEALTH_ORDER = [Health.healthy, Health.progressing, Health.unknown, Health.missing,
                 Health.degraded]


def worst_health(healths: Any) -> Health:
    """The worst of some healths; healthy when there are none."""
    return max(healths, key=lambda h: h.severity, default=Health.healthy)


class Outcome(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    partial = "partial"
    interrupted = "interrupted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Run:
    """One sync of one app at one revision, as the store remembers it."""

    id: int
    app: str
    revision: str
    trigger: str
    started: float
    finished: float | None
    outcome: Outcome
    health: Health | None
    counts: Mapping[str, int] = field(default_factory=dict)
    subject: str = ""
    error: str | None = None
    dry_run: bool = False
    results: tuple[RecordedResult, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordedResult:
    """A per-resource result as stored: enough to show, not to re-apply."""

    key: Key
    action: Action
    ok: bool
    error: str | None
    fields: tuple[DiffItem, ...]
    duration: float
    skipped: bool = False
