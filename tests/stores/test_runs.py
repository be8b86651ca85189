"""Runs: the journal written before the first action, results, history."""

from __future__ import annotations

import threading

from gitward.core.model import Action, DiffItem, Health, Outcome, Result
from gitward.core.seams import Store

from .builders import applied, create, delete, failed, plan_of, resource, update

REV = "c0ffee" + "0" * 34


def test_a_run_is_journaled_as_running_before_any_result(store: Store) -> None:
    motd = resource("motd", content="hi")
    run = store.begin("web", REV, plan_of(create(motd), revision=REV), trigger="webhook",
                      subject="Add motd")

    recorded = store.run(run)
    assert recorded is not None
    assert (recorded.app, recorded.revision, recorded.trigger, recorded.subject) == (
        "web", REV, "webhook", "Add motd")
    assert recorded.outcome is Outcome.running
    assert recorded.finished is None and recorded.results == ()
    assert recorded.counts["create"] == 1


def test_results_come_back_in_order_with_their_diffs(store: Store) -> None:
    motd, issue = resource("motd", content="hi"), resource("issue", content="x")
    old_issue = resource("issue", content="old")
    plan = plan_of(create(motd), update(issue, old_issue))
    run = store.begin("web", REV, plan)
    store.result(run, applied(plan.changes[0]))
    store.result(run, failed(plan.changes[1], "disk full"))
    store.finish(run, "partial", Health.degraded, error="File/issue@local: disk full")

    recorded = store.run(run)
    assert recorded is not None
    assert recorded.outcome is Outcome.partial and recorded.health is Health.degraded
    assert recorded.error == "File/issue@local: disk full"
    assert recorded.finished is not None and recorded.finished >= recorded.started
    assert [(r.key.name, r.action, r.ok, r.error) for r in recorded.results] == [
        ("motd", Action.create, True, None), ("issue", Action.update, False, "disk full")]
    assert recorded.results[1].fields == (DiffItem("change", "spec.content", "old", "x"),)
    assert recorded.results[0].duration == 0.25


def test_finished_counts_tell_planned_failed_and_skipped(store: Store) -> None:
    a, b, c = resource("a"), resource("b"), resource("c")
    plan = plan_of(create(a), create(b), create(c))
    run = store.begin("web", REV, plan)
    store.result(run, applied(plan.changes[0]))
    store.result(run, failed(plan.changes[1]))
    store.result(run, Result(plan.changes[2], ok=False, error="b failed", skipped=True))
    store.finish(run, "partial", Health.degraded)

    recorded = store.run(run)
    assert recorded is not None
    assert recorded.counts["create"] == 3
    assert (recorded.counts["failed"], recorded.counts["skipped"]) == (1, 1)
    assert recorded.results[2].skipped


def test_a_successful_run_marks_the_app_synced_at_its_revision(store: Store) -> None:
    motd = resource("motd")
    run = store.begin("web", REV, plan_of(create(motd)))
    store.result(run, applied(create(motd)))
    store.finish(run, "succeeded", Health.healthy)

    state = store.app_state("web")
    assert (state.revision, state.outcome, state.health) == (REV, "succeeded", "healthy")
    assert state.synced_at is not None


def test_a_failed_run_shows_failure_but_keeps_the_last_synced_revision(store: Store) -> None:
    first = store.begin("web", REV, plan_of())
    store.finish(first, "succeeded", Health.healthy)
    second = store.begin("web", "bad" + "0" * 37, plan_of())
    store.finish(second, "failed", Health.degraded, error="render failed")

    state = store.app_state("web")
    assert (state.revision, state.outcome, state.health) == (REV, "failed", "degraded")


def test_a_dry_run_changes_neither_inventory_nor_app_state(store: Store) -> None:
    motd = resource("motd")
    run = store.begin("web", REV, plan_of(create(motd)), dry_run=True)
    store.result(run, applied(create(motd)))
    store.finish(run, "succeeded", Health.healthy)

    assert store.inventory("web") == {}
    assert store.app_state("web").revision is None
    recorded = store.run(run)
    assert recorded is not None and recorded.dry_run and len(recorded.results) == 1


def test_history_is_newest_first_limited_and_per_app(store: Store) -> None:
    ids = [store.begin("web", f"{i:040d}", plan_of()) for i in range(5)]
    store.begin("db", REV, plan_of())
    for run in ids:
        store.finish(run, "succeeded", Health.healthy)

    history = store.history("web", limit=3)
    assert [r.id for r in history] == ids[::-1][:3]
    assert {r.app for r in history} == {"web"}
    assert [r.id for r in store.history("web")] == ids[::-1]
    assert store.history("nobody") == []


def test_history_leaves_results_out(store: Store) -> None:
    motd = resource("motd")
    run = store.begin("web", REV, plan_of(create(motd)))
    store.result(run, applied(create(motd)))
    assert store.history("web")[0].results == ()


def test_unknown_run_reads_as_none(store: Store) -> None:
    assert store.run(999) is None


def test_interrupt_running_closes_only_that_apps_running_runs(store: Store) -> None:
    crashed = [store.begin("web", REV, plan_of()) for _ in range(2)]
    done = store.begin("web", REV, plan_of())
    store.finish(done, "succeeded", Health.healthy)
    other = store.begin("db", REV, plan_of())

    assert store.interrupt_running("web") == 2
    assert store.interrupt_running("web") == 0
    for run in crashed:
        recorded = store.run(run)
        assert recorded is not None
        assert recorded.outcome is Outcome.interrupted and recorded.finished is not None
    assert store.run(done).outcome is Outcome.succeeded  # type: ignore[union-attr]
    assert store.run(other).outcome is Outcome.running  # type: ignore[union-attr]


def test_a_run_remembers_what_it_set_out_to_change(store: Store) -> None:
    motd, gone = resource("motd"), resource("old")
    plan = plan_of(create(motd), delete(gone))
    run = store.begin("web", REV, plan)
    planned = store.planned(run)  # type: ignore[attr-defined]
    assert planned == [(motd.key, Action.create), (gone.key, Action.delete)]


def test_results_from_many_threads_are_all_recorded(store: Store) -> None:
    resources = [resource(f"f{i}") for i in range(200)]
    plan = plan_of(*(create(r) for r in resources))
    run = store.begin("web", REV, plan)

    def report(chunk: list[int]) -> None:
        for i in chunk:
            store.result(run, applied(plan.changes[i]))

    threads = [threading.Thread(target=report, args=(list(range(n, 200, 8)),))
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.finish(run, "succeeded", Health.healthy)

    recorded = store.run(run)
    assert recorded is not None
    assert sorted(r.key.name for r in recorded.results) == sorted(r.key.name for r in resources)
    assert len(store.inventory("web")) == 200
