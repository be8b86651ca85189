"""The inventory: what each app applied and still manages, the input of prunes."""

from __future__ import annotations

from gitward.core.model import Key, Origin, Resource, Result
from gitward.core.seams import Store

from .builders import (
    already_absent,
    applied,
    create,
    delete,
    failed,
    in_sync,
    key,
    plan_of,
    resource,
    update,
)

REV = "1" * 40


def record(store: Store, *results: Result, app: str = "web", revision: str = REV) -> int:
    run = store.begin(app, revision, plan_of(*(r.change for r in results), revision=revision))
    for result in results:
        store.result(run, result)
    return run


def test_an_applied_create_enters_the_inventory_with_its_live_state(store: Store) -> None:
    motd = resource("motd", content="hi")
    live = Resource(motd.key, {**motd.spec, "sha256": "abc"})
    record(store, applied(create(motd), live_after=live))

    assert store.inventory("web") == {motd.key: motd}
    assert store.recorded("web") == {motd.key: live}
    assert store.inventory("db") == {}


def test_an_applied_update_replaces_the_recorded_resource(store: Store) -> None:
    old, new = resource("motd", content="old"), resource("motd", content="new")
    record(store, applied(create(old)))
    record(store, applied(update(new, old)))

    assert store.inventory("web")[new.key].spec["content"] == "new"
    assert store.recorded("web")[new.key].spec["content"] == "new"


def test_a_failed_update_keeps_what_was_really_applied(store: Store) -> None:
    old, new = resource("motd", content="old"), resource("motd", content="new")
    record(store, applied(create(old)))
    record(store, failed(update(new, old)))

    assert store.inventory("web")[old.key].spec["content"] == "old"


def test_a_failed_create_does_not_enter_the_inventory(store: Store) -> None:
    record(store, failed(create(resource("motd"))))
    assert store.inventory("web") == {}


def test_an_applied_delete_leaves_the_inventory(store: Store) -> None:
    motd, issue = resource("motd"), resource("issue")
    record(store, applied(create(motd)), applied(create(issue)))
    record(store, Result(delete(motd), ok=True))

    assert set(store.inventory("web")) == {issue.key}
    assert set(store.recorded("web")) == {issue.key}


def test_a_failed_delete_stays_in_the_inventory(store: Store) -> None:
    motd = resource("motd")
    record(store, applied(create(motd)))
    record(store, failed(delete(motd), "device busy"))

    assert set(store.inventory("web")) == {motd.key}


def test_a_prune_that_finds_nothing_left_forgets_the_resource(store: Store) -> None:
    motd = resource("motd")
    record(store, applied(create(motd)))
    record(store, Result(already_absent(motd), ok=True))

    assert store.inventory("web") == {}


def test_an_in_sync_noop_keeps_the_resource_managed(store: Store) -> None:
    motd = resource("motd")
    record(store, Result(in_sync(motd), ok=True))
    assert set(store.inventory("web")) == {motd.key}


def test_inventories_of_apps_are_apart(store: Store) -> None:
    motd = resource("motd")
    record(store, applied(create(motd)), app="web")
    record(store, Result(delete(motd), ok=True), app="db")

    assert set(store.inventory("web")) == {motd.key}


def test_remember_and_forget(store: Store) -> None:
    motd, issue = resource("motd"), resource("issue")
    live = Resource(motd.key, {**motd.spec, "mtime": 5})
    store.remember("web", [(motd, live), (issue, None)])

    assert set(store.inventory("web")) == {motd.key, issue.key}
    assert store.recorded("web") == {motd.key: live}

    store.remember("web", [(resource("motd", content="again"), None)])
    assert store.inventory("web")[motd.key].spec["content"] == "again"

    store.forget("web", [motd.key, key("never-known")])
    assert set(store.inventory("web")) == {issue.key}
    store.remember("web", [])
    store.forget("web", [])


def test_a_resource_comes_back_as_it_was_applied(store: Store) -> None:
    full = Resource(
        Key("Service", "ssh://deploy@web1", "nginx"),
        {"unit": "nginx.service", "enabled": True, "restart_on": ["File/nginx-conf"],
         "limits": {"nofile": 65536, "ratio": 0.5}, "note": None, "unicode": "ünïcødé ✓"},
        wave=3, depends_on=(Key("File", "ssh://deploy@web1", "nginx-conf"),), prune=False,
        claim="systemd:nginx.service", origin=Origin("apps/web/nginx.yaml", 12))
    record(store, applied(create(full)))

    assert store.inventory("web") == {full.key: full}
