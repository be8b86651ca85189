"""The JSON form of core values, and how secrets are taken out of it."""

from __future__ import annotations

import json

from gitward.core.diff import redact
from gitward.core.model import DiffItem, Key, Origin, Resource
from gitward.stores.codec import (
    redact_diff_items,
    redact_spec,
    resource_from_json,
    resource_to_json,
)


def test_a_resource_survives_json() -> None:
    res = Resource(Key("File", "ssh://web1", "motd"), {"mode": "0644", "lines": [1, {"a": None}]},
                   wave=-2, depends_on=(Key("Dir", "ssh://web1", "etc"),), prune=False,
                   claim="fs:/etc/motd", origin=Origin("apps/web/motd.yaml", 3))
    assert resource_from_json(json.loads(json.dumps(resource_to_json(res)))) == res


def test_redaction_keeps_an_existing_fingerprint() -> None:
    once = redact_spec({"password": "pw", "user": "app"}, {"password"})
    assert once == {"password": redact("pw"), "user": "app"}
    assert redact_spec(once, {"password"}) == once


def test_a_missing_secret_stays_missing() -> None:
    assert redact_spec({"password": None}, {"password"}) == {"password": None}


def test_diff_items_under_a_sensitive_field_are_hidden() -> None:
    items = (DiffItem("change", "spec.token", "old", "new"),
             DiffItem("add", "spec.token.inner", None, "x"),
             DiffItem("remove", "spec.tokens[0]", "keep-me", None),
             DiffItem("change", "metadata.token", "a", "b"))
    hidden = redact_diff_items(items, {"token"})
    assert hidden[0] == DiffItem("change", "spec.token", redact("old"), redact("new"))
    assert hidden[1].new == redact("x")
    assert hidden[2:] == items[2:]
