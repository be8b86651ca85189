"""Backups of what gitward took over, the event log, and per-app state."""

from __future__ import annotations

from gitward.core.seams import AppState, Store

from .builders import key

ORIGINAL = b"\x00original motd\n\xff\xfe"


def test_a_backup_is_kept_until_dropped(store: Store) -> None:
    store.save_backup("local", "fs:/etc/motd", key("motd"), ORIGINAL)

    assert store.load_backup("local", "fs:/etc/motd") == ORIGINAL
    assert store.load_backup("ssh://web1", "fs:/etc/motd") is None
    store.drop_backup("local", "fs:/etc/motd")
    assert store.load_backup("local", "fs:/etc/motd") is None
    store.drop_backup("local", "fs:/etc/motd")


def test_the_first_backup_of_a_claim_is_never_overwritten(store: Store) -> None:
    # A crash between backup and record makes the engine see the file as new
    # again; backing up its own content then must not lose the original.
    store.save_backup("local", "fs:/etc/motd", key("motd"), ORIGINAL)
    store.save_backup("local", "fs:/etc/motd", key("motd"), b"what gitward wrote")

    assert store.load_backup("local", "fs:/etc/motd") == ORIGINAL


def test_events_are_read_in_order_after_a_given_id(store: Store) -> None:
    store.event("web", "synced", "succeeded at c0ffee", revision="c0ffee",
                data={"run": 1, "counts": {"create": 2}})
    store.event(None, "fetched", "origin/main at c0ffee")
    store.event("db", "sync-failed", "failed")

    everything = store.events()
    assert [e["kind"] for e in everything] == ["synced", "fetched", "sync-failed"]
    first = everything[0]
    assert set(first) == {"id", "at", "app", "revision", "kind", "message", "data"}
    assert (first["app"], first["revision"], first["message"]) == (
        "web", "c0ffee", "succeeded at c0ffee")
    assert first["data"] == {"run": 1, "counts": {"create": 2}}
    assert everything[1]["app"] is None and everything[1]["data"] is None

    newer = store.events(since=first["id"])
    assert [e["kind"] for e in newer] == ["fetched", "sync-failed"]
    assert store.events(since=everything[-1]["id"]) == []
    assert [e["kind"] for e in store.events(app="db")] == ["sync-failed"]
    assert [e["kind"] for e in store.events(limit=1)] == ["synced"]


def test_polling_with_the_last_seen_id_misses_nothing(store: Store) -> None:
    seen: list[str] = []
    last = 0
    for batch in (["a", "b"], [], ["c"]):
        for message in batch:
            store.event("web", "note", message)
        fresh = store.events(app="web", since=last)
        seen += [e["message"] for e in fresh]
        last = fresh[-1]["id"] if fresh else last
    assert seen == ["a", "b", "c"]


def test_an_unknown_app_has_an_empty_state(store: Store) -> None:
    assert store.app_state("web") == AppState("web")
    assert store.apps() == []


def test_pin_and_unpin(store: Store) -> None:
    store.pin("web", "c0ffee", reason="incident 42")
    state = store.app_state("web")
    assert (state.pinned, state.pin_reason) == ("c0ffee", "incident 42")

    store.pin("web", None)
    state = store.app_state("web")
    assert (state.pinned, state.pin_reason) == (None, None)


def test_apps_lists_every_app_the_store_knows(store: Store) -> None:
    store.pin("web", "c0ffee")
    store.note_synced("db", "beef", "tree-1")  # type: ignore[attr-defined]

    assert [s.app for s in store.apps()] == ["db", "web"]
    db = store.app_state("db")
    assert (db.revision, db.tree_id) == ("beef", "tree-1")
    assert store.app_state("web").pinned == "c0ffee"
