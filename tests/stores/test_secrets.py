"""Secrets never reach the store: values of sensitive fields are fingerprints."""

from __future__ import annotations

from gitward.core.diff import diff_specs, redact
from gitward.core.model import Action, Change, DiffItem, Health, Key, Resource, Result
from gitward.core.seams import Store

from .builders import plan_of
from .conftest import raw_contents

SECRET, OLD_SECRET = "hunter2-NEW-4f1c", "hunter2-OLD-9a7e"


def database_user(password: str) -> Resource:
    return Resource(Key("PostgresRole", "db", "app"), {"login": True, "password": password},
                    sensitive=frozenset({"password"}))


def test_sensitive_values_are_never_written(store: Store, store_url: str) -> None:
    desired, live = database_user(SECRET), database_user(OLD_SECRET)
    # A careless provider: raw values in the diff and no `sensitive` on live_after.
    fields = (DiffItem("change", "spec.password", OLD_SECRET, SECRET),)
    change = Change(desired.key, Action.update, desired, live, fields)
    live_after = Resource(desired.key, {"login": True, "password": SECRET})
    run = store.begin("db", "2" * 40, plan_of(change))
    store.result(run, Result(change, ok=True, live_after=live_after))
    store.remember("db", [(database_user(SECRET + "-remembered"), live_after)])
    store.finish(run, "succeeded", Health.healthy)

    raw = raw_contents(store, store_url)
    assert "hunter2" not in raw
    assert redact(SECRET) in raw


def test_secrets_read_back_as_stable_fingerprints(store: Store) -> None:
    desired = database_user(SECRET)
    change = Change(desired.key, Action.create, desired, None,
                    diff_specs(desired.spec, {}, sensitive=desired.sensitive))
    run = store.begin("db", "2" * 40, plan_of(change))
    store.result(run, Result(change, ok=True, live_after=desired))

    stored = store.inventory("db")[desired.key]
    assert stored.spec == {"login": True, "password": redact(SECRET)}
    assert stored.sensitive == {"password"}
    assert store.recorded("db")[desired.key].spec["password"] == redact(SECRET)
    shown = store.run(run).results[0].fields  # type: ignore[union-attr]
    assert DiffItem("add", "spec.password", None, redact(SECRET)) in shown
