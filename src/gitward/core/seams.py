"""The narrow seams between gitward's parts, as typing Protocols.

Sources give a `Snapshot`, renderers turn it into `Document`s for one app,
providers read, diff, apply and delete resources of their kinds on one target
through a `Connection`, stores remember. Each has an in-memory fake in
`gitward.testing`. Optional abilities (`Backupable`, `BatchApplicable`) are
separate Protocols.

Two departures from the first sketch, because providers of host kinds need
them: `Provider.read` takes the resources (not only keys) so it knows their
paths, plus what was recorded at the last apply (`recorded`) so it can skip
work that a stat shows is unnecessary; and the store's inventory keeps the
last applied resource of each key, so prunes know what to delete.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gitward.core.document import Document
from gitward.core.model import Change, Health, Key, Plan, Resource, Result, Run

if TYPE_CHECKING:
    from gitward.core.system import AppSpec

__all__ = ["AppState", "AuthStore", "Backupable", "BatchApplicable", "Described", "Provider",
           "ProviderFactory", "Renderer", "Snapshot", "Source", "Store"]


class Snapshot(Protocol):
    """Read-only view of the repository at one revision."""

    @property
    def revision(self) -> str: ...
    @property
    def subject(self) -> str: ...

    def read(self, path: str) -> bytes: ...          # FileNotFoundError if absent
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def walk(self, path: str) -> Iterator[str]: ...  # files under path, sorted, recursive
    def tree_id(self, path: str) -> str | None: ...  # None if absent


class Source(Protocol):
    url: str

    def fetch(self, ref: str | None = None) -> Snapshot: ...
    def changed_paths(self, old: str, new: str) -> set[str]: ...


class Renderer(Protocol):
    def render(self, snapshot: Snapshot, app: AppSpec) -> list[Document]: ...


class Provider(Protocol):
    @property
    def kinds(self) -> frozenset[str]: ...

    def read(self, resources: Collection[Resource],
             recorded: Mapping[Key, Resource] | None = None) -> dict[Key, Resource]: ...
    def diff(self, desired: Resource, live: Resource | None) -> Change: ...
    def apply(self, change: Change) -> Resource: ...
    def delete(self, live: Resource) -> None: ...
    def health(self, live: Resource | None) -> Health: ...


class ProviderFactory(Protocol):
    """What an entry point in ``gitward.providers`` names: a provider class."""

    @property
    def kinds(self) -> frozenset[str]: ...
    @property
    def spec_models(self) -> Mapping[str, type[Any]]: ...   # pydantic-checked classes

    def __call__(self, connection: Any) -> Provider: ...

    def describe(self, kind: str, spec: Any) -> Described: ...


@dataclass(frozen=True, slots=True)
class Described:
    """A validated spec as the planner sees it: plain data, the thing it owns on
    the target (``claim``, e.g. ``fs:/etc/motd``) and its secret fields."""

    spec: dict[str, Any]
    claim: str | None = None
    sensitive: frozenset[str] = frozenset()


@runtime_checkable
class Backupable(Protocol):
    """A provider that can save what it replaces and put it back on prune."""

    def backup(self, live: Resource) -> bytes: ...
    def restore(self, live: Resource, saved: bytes) -> Resource: ...


@runtime_checkable
class BatchApplicable(Protocol):
    """A provider that applies many independent changes together more cheaply
    than one by one (files: one durability barrier for all their writes).
    `apply_many` gives one outcome per change, in order: the live resource
    after it, or the exception that failed it (the others still apply)."""

    def apply_many(self, changes: Sequence[Change]) -> list[Resource | Exception]: ...


@dataclass(frozen=True, slots=True)
class AppState:
    """What the store knows of an app besides its runs."""

    app: str
    revision: str | None = None
    tree_id: str | None = None
    synced_at: float | None = None
    outcome: str | None = None
    health: str | None = None
    pinned: str | None = None
    pin_reason: str | None = None
    suspended: bool = False


class Store(Protocol):
    def inventory(self, app: str) -> dict[Key, Resource]: ...   # as applied (desired side)
    def recorded(self, app: str) -> dict[Key, Resource]: ...    # live_after of the last apply
    def remember(self, app: str, entries: Collection[tuple[Resource, Resource | None]]) -> None:
        ...  # upsert (desired, live) pairs into the inventory, e.g. for noops
    def forget(self, app: str, keys: Collection[Key]) -> None: ...
    def begin(self, app: str, revision: str, plan: Plan, *, trigger: str = "manual",
              subject: str = "", dry_run: bool = False) -> int: ...
    def result(self, run: int, result: Result) -> None: ...
    def results(self, run: int, results: Sequence[Result]) -> None: ...   # one transaction
    def finish(self, run: int, outcome: str, health: Health, error: str | None = None) -> None: ...
    def history(self, app: str, limit: int = 50) -> list[Run]: ...
    def run(self, run: int) -> Run | None: ...
    def interrupt_running(self, app: str) -> int: ...
    def note_synced(self, app: str, revision: str, tree_id: str | None) -> None: ...
    def save_backup(self, target: str, claim: str, key: Key, data: bytes) -> None: ...
    def load_backup(self, target: str, claim: str) -> bytes | None: ...
    def drop_backup(self, target: str, claim: str) -> None: ...
    def event(self, app: str | None, kind: str, message: str, *, revision: str | None = None,
              data: Mapping[str, Any] | None = None) -> None: ...
    def events(self, app: str | None = None, since: int = 0, limit: int = 100
               ) -> list[dict[str, Any]]: ...
    def app_state(self, app: str) -> AppState: ...
    def apps(self) -> list[AppState]: ...
    def pin(self, app: str, revision: str | None, reason: str | None = None) -> None: ...
    def close(self) -> None: ...


class AuthStore(Protocol):
    """What the web face keeps besides runs: users, API tokens, suspensions.

    Users and tokens are plain dicts: a user has ``name``, ``password_hash``,
    ``role``, ``apps`` (comma-separated name patterns), ``created_at`` and
    ``disabled``; a token has ``id``, ``name``, ``user``, ``role``, ``apps``,
    ``token_hash`` (SHA-256 hex; the token itself is never stored),
    ``created_at``, ``expires_at``, ``revoked_at`` and ``last_used_at``.
    """

    def add_user(self, name: str, password_hash: str, role: str, apps: str = "*") -> None:
        ...  # raises gitward.stores.accounts.UserExistsError if the name is taken
    def user(self, name: str) -> dict[str, Any] | None: ...
    def users(self) -> list[dict[str, Any]]: ...
    def set_user(self, name: str, *, password_hash: str | None = None, role: str | None = None,
                 apps: str | None = None, disabled: bool | None = None) -> bool: ...
    def add_token(self, name: str, token_hash: str, role: str, apps: str = "*", *,
                  user: str | None = None, expires_at: float | None = None) -> int: ...
    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None: ...
    def tokens(self) -> list[dict[str, Any]]: ...
    def revoke_token(self, token_id: int) -> bool: ...
    def touch_token(self, token_id: int) -> None: ...
    def set_suspended(self, app: str, value: bool) -> None: ...
