"""The SQL store keeps an app's inventory in memory between reads; what it
returns must always equal what a fresh store reads from the database."""

from __future__ import annotations

from pathlib import Path

from gitward.core.model import Health, Result
from gitward.stores.sql import SqlStore
from tests.stores.builders import applied, create, delete, plan_of, resource


def _sync(store: SqlStore, *results: Result) -> None:
    run = store.begin("web", "a" * 40, plan_of(*(r.change for r in results)))
    for result in results:
        store.result(run, result)
    store.finish(run, "succeeded", Health.healthy)


def test_cached_inventory_follows_own_and_other_processes_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    agent, other = SqlStore(url), SqlStore(url)
    a, b = resource("a", path="/a"), resource("b", path="/b")
    _sync(agent, applied(create(a), a))
    assert set(agent.inventory("web")) == {a.key}          # now cached
    _sync(agent, applied(create(b), b))                      # own write keeps it current
    assert set(agent.inventory("web")) == {a.key, b.key}
    _sync(other, applied(delete(a)))                         # another process's run
    assert set(agent.inventory("web")) == {b.key}
    fresh = SqlStore(url)
    assert agent.inventory("web") == fresh.inventory("web")
    assert agent.recorded("web") == fresh.recorded("web")
    for store in (agent, other, fresh):
        store.close()
