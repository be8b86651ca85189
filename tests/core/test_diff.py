"""Structural diff: field paths, value types, ignored and secret fields."""

from __future__ import annotations

import re
from typing import Any

from gitward.core.diff import diff_specs, redact
from gitward.core.model import DiffItem


def paths(items: tuple[DiffItem, ...]) -> list[str]:
    return [f"{i.op} {i.path}" for i in items]


def test_equal_specs_have_no_difference() -> None:
    spec = {"path": "/etc/motd", "users": [{"name": "a", "groups": ["x"]}], "opts": {}}
    assert diff_specs(spec, {**spec}) == ()


def test_a_change_keeps_old_and_new_values() -> None:
    assert diff_specs({"mode": "0644"}, {"mode": "0600"}) == (
        DiffItem("change", "spec.mode", "0600", "0644"),)


def test_prefix_names_the_root_of_every_path() -> None:
    assert paths(diff_specs({"a": {"b": 1}}, {"a": {"b": 2}}, prefix="metadata")) == [
        "change metadata.a.b"]


def test_ignored_top_level_fields_are_skipped() -> None:
    items = diff_specs({"mtime": 2, "mode": "0644"}, {"mtime": 1, "mode": "0600"},
                       ignore={"mtime"})
    assert paths(items) == ["change spec.mode"]


def test_fields_are_listed_in_name_order() -> None:
    items = diff_specs({"b": 1, "a": 1, "c": {"z": 1, "y": 1}}, {"b": 2, "a": 2, "c": {}})
    assert paths(items) == ["change spec.a", "change spec.b", "add spec.c.y", "add spec.c.z"]


def test_numeric_mapping_keys_do_not_break_the_diff() -> None:
    # YAML allows `1: x`; such a key must diff, not crash, and read as an index.
    desired: dict[Any, Any] = {1: "a", "name": "n"}
    live: dict[Any, Any] = {1: "b", "name": "n"}
    items = diff_specs(desired, live)
    assert paths(items) == ["change spec[1]"]


def test_a_number_key_and_a_string_key_of_the_same_text_are_different_fields() -> None:
    items = diff_specs({"m": {1: "x"}}, {"m": {"1": "x"}})
    assert paths(items) == ["add spec.m[1]", "remove spec.m.1"]


def test_a_tuple_and_a_list_with_the_same_items_are_equal() -> None:
    assert diff_specs({"names": ("a", "b")}, {"names": ["a", "b"]}) == ()


def test_false_and_zero_differ() -> None:
    assert paths(diff_specs({"n": False}, {"n": 0})) == ["change spec.n"]


def test_a_redacted_value_is_a_short_stable_fingerprint() -> None:
    shown = redact("hunter2")
    assert re.fullmatch(r"<redacted:[0-9a-f]{12}>", shown)
    assert redact("hunter2") == shown
    assert redact("hunter3") != shown
    assert redact({"b": 1, "a": 2}) == redact({"a": 2, "b": 1})


def test_two_different_secrets_can_be_told_apart_without_being_shown() -> None:
    (item,) = diff_specs({"password": "new-secret"}, {"password": "old-secret"},
                         sensitive={"password"})
    assert item.old == redact("old-secret")
    assert item.new == redact("new-secret")
    assert "secret" not in repr(item).replace("redacted", "")


def test_a_secret_nested_anywhere_in_a_sensitive_field_is_hidden() -> None:
    desired = {"env": {"TOKEN": "tok-1", "LIST": ["pw-a", "pw-b"]}}
    live = {"env": {"TOKEN": "tok-0", "LIST": ["pw-a"], "OLD": {"k": "pw-old"}}}
    items = diff_specs(desired, live, sensitive={"env"})
    assert paths(items) == ["add spec.env.LIST[1]", "remove spec.env.OLD", "change spec.env.TOKEN"]
    text = repr(items)
    for secret in ("tok-", "pw-"):
        assert secret not in text


def test_a_sensitive_field_that_appears_is_hidden_and_absence_stays_none() -> None:
    (item,) = diff_specs({"key": "k-123"}, {}, sensitive={"key"})
    assert (item.op, item.old, item.new) == ("add", None, redact("k-123"))

