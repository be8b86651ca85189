"""The core vocabulary: keys, plans, health, and the retry and duration settings."""

from __future__ import annotations

import pydantic
import pytest

from gitward.core.health import app_health, resource_healths
from gitward.core.model import Action, Change, Health, Key, Plan, Resource, worst_health
from gitward.core.system import RetryPolicy, SyncPolicy, parse_duration, validate_spec

# Key


@pytest.mark.parametrize(("text", "key"), [
    ("File/motd", Key("File", "local", "motd")),
    ("File/motd@web1", Key("File", "web1", "motd")),
    ("Service/nginx@web-1.example", Key("Service", "web-1.example", "nginx")),
    ("Database/app_db@db", Key("Database", "db", "app_db")),
])
def test_key_parse_reads_kind_name_and_optional_target(text: str, key: Key) -> None:
    assert Key.parse(text, default_target="local") == key


@pytest.mark.parametrize("text", ["motd", "/motd", "File/", "", "File"])
def test_key_parse_refuses_what_is_not_a_reference(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a resource reference; write Kind/name\[@target\]"):
        Key.parse(text, default_target="local")


def test_a_key_reads_back_from_its_text() -> None:
    key = Key("File", "web1", "motd")
    assert str(key) == "File/motd@web1"
    assert Key.parse(str(key), default_target="local") == key


def test_keys_sort_by_kind_then_target_then_name() -> None:
    keys = [Key("File", "b", "a"), Key("Directory", "z", "z"), Key("File", "a", "z")]
    assert sorted(keys) == [Key("Directory", "z", "z"), Key("File", "a", "z"),
                            Key("File", "b", "a")]


# Plan


def change(name: str, action: Action) -> Change:
    res = Resource(Key("File", "local", name), {})
    return Change(res.key, action, None if action is Action.delete else res,
                  None if action is Action.create else res)


def test_plan_counts_every_action_even_when_zero() -> None:
    plan = Plan("rev", (change("a", Action.create), change("b", Action.noop),
                        change("c", Action.noop), change("d", Action.delete)))
    assert plan.counts() == {"noop": 2, "create": 1, "update": 0, "replace": 0, "delete": 1}


def test_pending_keeps_order_and_leaves_out_noops() -> None:
    plan = Plan("rev", (change("z", Action.update), change("b", Action.noop),
                        change("a", Action.replace)))
    assert [c.key.name for c in plan.pending] == ["z", "a"]
    assert not plan.in_sync


def test_a_plan_of_noops_or_nothing_is_in_sync() -> None:
    assert Plan("rev", (change("a", Action.noop),)).in_sync
    assert Plan("rev").in_sync
    assert Plan("rev").counts() == dict.fromkeys(["noop", "create", "update", "replace",
                                                  "delete"], 0)


def test_settled_resources_count_as_noops_without_changes_of_their_own() -> None:
    plan = Plan("rev", (change("a", Action.update), change("b", Action.noop)), settled=5)
    assert plan.counts()["noop"] == 6 and plan.counts()["update"] == 1
    assert [c.key.name for c in plan.pending] == ["a"]
    assert Plan("rev", settled=5).in_sync


def test_a_change_describes_its_resource_by_desired_else_live() -> None:
    desired = Resource(Key("File", "local", "a"), {"v": "desired"})
    live = Resource(Key("File", "local", "a"), {"v": "live"})
    assert Change(desired.key, Action.update, desired, live).resource is desired
    assert Change(live.key, Action.delete, None, live).resource is live


# Health


def test_health_severity_runs_from_healthy_to_degraded() -> None:
    ordered = sorted(Health, key=lambda h: h.severity)
    assert ordered == [Health.healthy, Health.progressing, Health.unknown, Health.missing,
                       Health.degraded]


@pytest.mark.parametrize(("healths", "worst"), [
    ([Health.healthy, Health.degraded, Health.progressing], Health.degraded),
    ([Health.healthy, Health.progressing], Health.progressing),
    ([Health.unknown, Health.missing, Health.healthy], Health.missing),
    ([Health.progressing, Health.unknown], Health.unknown),
    ([Health.healthy], Health.healthy),
    ([], Health.healthy),
])
def test_worst_health_is_the_most_severe(healths: list[Health], worst: Health) -> None:
    assert worst_health(healths) is worst
    assert worst_health(iter(healths)) is worst
    assert app_health(healths) is worst


def test_resource_healths_asks_for_every_key_and_passes_none_when_missing() -> None:
    here, gone = Key("File", "local", "here"), Key("File", "local", "gone")
    live = {here: Resource(here, {})}
    healths = resource_healths([here, gone], live,
                               lambda key, res: Health.healthy if res else Health.missing)
    assert healths == {here: Health.healthy, gone: Health.missing}
    assert app_health(healths.values()) is Health.missing


def test_health_and_action_print_as_their_plain_names() -> None:
    assert f"{Health.degraded}/{Action.replace}" == "degraded/replace"


# Durations and retries


@pytest.mark.parametrize(("value", "seconds"), [
    (90, 90.0), (1.5, 1.5), (0, 0.0), ("90", 90.0), ("90s", 90.0), ("1.5m", 90.0),
    ("2h", 7200.0), ("250ms", 0.25), ("1d", 86400.0), (" 5 m ", 300.0),
])
def test_parse_duration_reads_seconds_and_units(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "message"), [
    ("5 minutes", "'5 minutes' is not a duration; write e.g. 30s, 5m, 1h"),
    ("", "is not a duration"),
    ("-5s", "is not a duration"),
    ("1e3", "is not a duration"),
    ("5x", "is not a duration"),
    (None, "None is not a duration"),
    (True, "a duration is a number of seconds"),
    (-1, "cannot be negative"),
    (-0.5, "cannot be negative"),
])
def test_parse_duration_refuses_bad_values(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_a_bad_duration_in_a_sync_policy_names_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="interval"):
        validate_spec(SyncPolicy, {"interval": "soon"})
    assert validate_spec(SyncPolicy, {"interval": "5m"}).interval == 300.0


def test_retry_delay_grows_by_factor_up_to_max() -> None:
    policy = RetryPolicy(limit=10, backoff=5, factor=2, max=60)
    assert [policy.delay(n) for n in range(1, 7)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_retry_delay_defaults_and_attempt_zero() -> None:
    policy = RetryPolicy()
    assert (policy.limit, policy.delay(0), policy.delay(1)) == (0, 5.0, 5.0)
    assert policy.delay(100) == 180.0


def test_retry_delay_reads_durations_and_a_factor_of_one_is_constant() -> None:
    policy = validate_spec(RetryPolicy, {"backoff": "1.5m", "factor": 1, "max": "1h"})
    assert [policy.delay(n) for n in (1, 2, 5)] == [90.0, 90.0, 90.0]


@pytest.mark.parametrize("fields", [{"limit": -1}, {"factor": 0.5}, {"backoff": "-1s"},
                                    {"retries": 3}])
def test_retry_policy_refuses_bad_settings(fields: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        validate_spec(RetryPolicy, fields)
