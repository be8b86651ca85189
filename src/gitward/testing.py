"""Fakes for unit tests of the pure core, and the contract every provider passes.

- `FakeSnapshot`: a repository at one revision, held in a dict.
- `ProviderContract` (below): the checks every provider must pass.

Use these only to test logic; tests of sources, providers and stores use the
real things (git, a temp directory, SQLite and PostgreSQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.core.model import Action, Health, Resource
from gitward.core.seams import Provider

__all__ = ["FakeSnapshot"]


class FakeSnapshot:
    """A repository at one revision, from ``{path: text or bytes}``.

    >>> snap = FakeSnapshot({"apps/web/a.yaml": "kind: File"})
    >>> list(snap.walk("apps"))
    ['apps/web/a.yaml']
    """

    def __init__(self, files: Mapping[str, str | bytes], revision: str = "0" * 40,
                 subject: str = "test commit") -> None:
        self.files = {p.strip("/"): (v.encode() if isinstance(v, str) else v)
                      for p, v in files.items()}
        self.revision = revision
        self.subject = subject

    def read(self, path: str) -> bytes:
        try:
            return self.files[path.strip("/")]
        except KeyError:
            raise FileNotFoundError(path) from None

    def exists(self, path: str) -> bool:
        return path.strip("/") in self.files or self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        return any(p.startswith(prefix) for p in self.files)

    def walk(self, path: str) -> Iterator[str]:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        yield from sorted(p for p in self.files if p.startswith(prefix))

    def tree_id(self, path: str) -> str | None:
        if not self.exists(path):
            return None
        digest = hashlib.sha1()
        for p in self.walk(path) if self.is_dir(path) else [path.strip("/")]:
            digest.update(p.encode() + b"\0" + self.files[p])
        return digest.hexdigest()


# -- the provider contract ------------------------------------------------------


@dataclass(frozen=True)
class ContractSample:
    """A resource to put a provider through its contract with.

    `changed` has the same key and another spec; read against what `desired`
    left on the target, it must plan `changed_action` (an update for most
    kinds; a create for a command whose guard now says "run").
    """

    desired: Resource
    changed: Resource
    changed_action: Action = Action.update


class UnusableConnection:
    """A connection that fails on any use: proves that a method does no I/O."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"diff must be pure, but it used connection.{name}")


class ProviderContract:
    """The checks every provider passes, as pytest-style test methods.

    Subclass it in a test module, name the subclass ``Test...`` and fill in
    `make_provider` and `sample` (and `connect` for a non-host provider);
    pytest collects the inherited ``test_*`` methods and gives each one a
    fresh ``tmp_path``. This module does not import pytest.

    >>> class TestFileContract(ProviderContract):                # doctest: +SKIP
    ...     def make_provider(self, connection): return FilesProvider(connection)
    ...     def sample(self, tmp_path): return ContractSample(motd, motd_changed)
    """

    def make_provider(self, connection: Any) -> Provider:
        raise NotImplementedError

    def sample(self, tmp_path: Path) -> ContractSample:
        raise NotImplementedError

    def connect(self, tmp_path: Path) -> Any:
        from gitward.providers.connection import LocalConnection

        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        return LocalConnection(str(root))

    # -- helpers -----------------------------------------------------------------

    def _setup(self, tmp_path: Path) -> tuple[Provider, ContractSample]:
        return self.make_provider(self.connect(tmp_path)), self.sample(tmp_path)

    @staticmethod
    def _read(provider: Provider, res: Resource, recorded: Resource | None = None
              ) -> Resource | None:
        """What the engine would see: a batched read with last apply's record."""
        found = provider.read([res], {res.key: recorded} if recorded else None)
        assert set(found) <= {res.key}, f"read returned keys it was not asked for: {set(found)}"
        return found.get(res.key)

    @classmethod
    def _create(cls, provider: Provider, desired: Resource) -> Resource:
        change = provider.diff(desired, cls._read(provider, desired))
        assert change.action is Action.create, f"{desired.key}: expected create, got {change}"
        return provider.apply(change)

    # -- the contract --------------------------------------------------------------

    def test_read_of_absent_is_missing(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        assert self._read(provider, sample.desired) is None
        assert provider.health(None) is Health.missing

    def test_diff_of_absent_is_create(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        change = provider.diff(sample.desired, None)
        assert (change.key, change.action, change.desired, change.live) == (
            sample.desired.key, Action.create, sample.desired, None)

    def test_apply_gives_what_read_sees(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        live_after = self._create(provider, sample.desired)
        assert live_after.key == sample.desired.key
        read_back = self._read(provider, sample.desired, live_after)
        assert read_back is not None, "read does not see what apply made"
        assert dict(read_back.spec) == dict(live_after.spec)

    def test_diff_after_apply_is_noop(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        live_after = self._create(provider, sample.desired)
        change = provider.diff(sample.desired, self._read(provider, sample.desired, live_after))
        assert change.action is Action.noop, change
        assert change.fields == ()

    def test_changed_desired_is_planned_and_converges(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        live_after = self._create(provider, sample.desired)
        change = provider.diff(sample.changed, self._read(provider, sample.changed, live_after))
        assert change.action is sample.changed_action, change
        if change.action is Action.update:
            assert change.fields, "an update must say which fields differ"
        live_after = provider.apply(change)
        settled = provider.diff(sample.changed, self._read(provider, sample.changed, live_after))
        assert settled.action is Action.noop, settled

    def test_delete_makes_it_absent(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        live_after = self._create(provider, sample.desired)
        live = self._read(provider, sample.desired, live_after)
        assert live is not None
        provider.delete(live)
        # After a prune the engine forgets the key, so nothing is recorded any more.
        assert self._read(provider, sample.desired) is None

    def test_health_follows_presence(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        assert provider.health(self._read(provider, sample.desired)) is Health.missing
        live_after = self._create(provider, sample.desired)
        assert provider.health(live_after) is Health.healthy
        assert provider.health(self._read(provider, sample.desired, live_after)) is Health.healthy

    def test_apply_is_idempotent(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        change = provider.diff(sample.desired, None)
        provider.apply(change)
        again = provider.apply(change)
        live = self._read(provider, sample.desired, again)
        assert live is not None and dict(live.spec) == dict(again.spec)
        assert provider.diff(sample.desired, live).action is Action.noop

    def test_diff_is_pure(self, tmp_path: Path) -> None:
        provider, sample = self._setup(tmp_path)
        live = self._read(provider, sample.desired, self._create(provider, sample.desired))
        pure = self.make_provider(UnusableConnection())
        for desired, seen in ((sample.desired, None), (sample.desired, live),
                              (sample.changed, live)):
            first = pure.diff(desired, seen)
            assert first == pure.diff(desired, seen) == provider.diff(desired, seen)


__all__ += ["ContractSample", "ProviderContract", "UnusableConnection"]
