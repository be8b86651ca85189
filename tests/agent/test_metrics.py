"""Agent metrics as a Prometheus server scrapes them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.agent.metrics import AgentMetrics
from gitward.agent.state import AppStatus


def scrape(metrics: AgentMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    text, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples}


def test_reconciles_runs_fetches_and_webhooks_are_exposed() -> None:
    metrics = AgentMetrics()
    metrics.reconciled("web", "webhook", 0.3)
    metrics.run_finished("web", "succeeded")
    metrics.run_finished("web", "succeeded")
    metrics.fetched("origin", at=1_700_000_000.0)
    metrics.fetch_failed("origin")
    metrics.count_webhook("github", "accepted")

    samples = scrape(metrics)

    assert samples[("gitward_reconcile_duration_seconds_count",
                    (("app", "web"), ("trigger", "webhook")))] == 1
    assert samples[("gitward_reconcile_duration_seconds_bucket",
                    (("app", "web"), ("le", "0.5"), ("trigger", "webhook")))] == 1
    assert samples[("gitward_runs_total", (("app", "web"), ("outcome", "succeeded")))] == 2
    assert samples[("gitward_source_last_fetch_timestamp_seconds",
                    (("source", "origin"),))] == 1_700_000_000.0
    assert samples[("gitward_source_fetch_failures_total", (("source", "origin"),))] == 1
    assert samples[("gitward_webhook_deliveries_total",
                    (("provider", "github"), ("result", "accepted")))] == 1


def test_app_states_are_recounted_and_emptied_states_read_zero() -> None:
    metrics = AgentMetrics()
    metrics.set_app_states([AppStatus("web", sync="synced", health="healthy"),
                            AppStatus("db", sync="synced", health="healthy"),
                            AppStatus("cache", sync="error", health="degraded")])
    metrics.set_app_states([AppStatus("web", sync="synced", health="healthy"),
                            AppStatus("db", sync="out_of_sync", health="healthy")])

    samples = scrape(metrics)

    assert samples[("gitward_apps", (("health", "healthy"), ("sync", "synced")))] == 1
    assert samples[("gitward_apps", (("health", "healthy"), ("sync", "out_of_sync")))] == 1
    assert samples[("gitward_apps", (("health", "degraded"), ("sync", "error")))] == 0


def test_each_agent_has_its_own_registry() -> None:
    first, second = AgentMetrics(), AgentMetrics()
    first.run_finished("web", "failed")

    assert ("gitward_runs_total", (("app", "web"), ("outcome", "failed"))) not in scrape(second)


def test_an_unknown_webhook_result_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown webhook result 'acepted'"):
        AgentMetrics().count_webhook("github", "acepted")
