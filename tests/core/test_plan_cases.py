"""Planner table tests: every case in ``cases/*.yaml`` is desired + live +
inventory (+ options) -> the expected ordered plan, or the expected error.

Notation (one list of cases per file):

    - name: changed mode is an update with a readable field path
      desired:   [{key: File/motd, spec: {mode: "0644"}}]   # also wave, depends_on,
      live:      [{key: File/motd, spec: {mode: "0600"}}]   # prune, claim, sensitive
      inventory: [File/motd]          # a key, or a full resource as above
      options:   {prune: false, allow_empty: true}
      expect:
        - {key: File/motd, action: update, fields: ["change spec.mode"]}
      never_shown: [hunter2]          # text that must not appear in any change's fields

`fields` compares ``op path`` of each diff item; `values` compares
``op path: old -> new`` (JSON values, ``<redacted>`` matches any fingerprint).
`reason` is always compared: leaving it out means the change has none.
Instead of `expect`, ``error: {type: WaveOrderError, message: "..."}`` expects
that error with that text in its message. Keys default to target ``local``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.core import errors
from gitward.core.diff import diff_specs
from gitward.core.model import Action, Change, DiffItem, Key, Plan, Resource
from gitward.core.plan import plan_changes

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_TARGET = "local"

CASE_FIELDS = {"name", "desired", "live", "inventory", "options", "expect", "error",
               "never_shown"}
RESOURCE_FIELDS = {"key", "spec", "wave", "depends_on", "prune", "claim", "sensitive"}
EXPECT_FIELDS = {"key", "action", "fields", "values", "reason"}
OPTION_FIELDS = {"prune", "allow_empty"}


def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            case["_file"] = path.name
            cases.append(case)
    return cases


CASES = load_cases()


def _check_fields(where: str, given: Mapping[str, Any], allowed: set[str]) -> None:
    # A typo in a case must fail loudly, not quietly skip a comparison.
    unknown = set(given) - allowed
    assert not unknown, f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"


def key_of(text: str) -> Key:
    return Key.parse(text, DEFAULT_TARGET)


def resource_of(entry: str | Mapping[str, Any]) -> Resource:
    if isinstance(entry, str):
        return Resource(key_of(entry), {})
    _check_fields(f"resource {entry.get('key')}", entry, RESOURCE_FIELDS)
    return Resource(
        key=key_of(entry["key"]),
        spec=entry.get("spec") or {},
        wave=entry.get("wave", 0),
        depends_on=tuple(key_of(d) for d in entry.get("depends_on", ())),
        prune=entry.get("prune", True),
        claim=entry.get("claim"),
        sensitive=frozenset(entry.get("sensitive", ())),
    )


def simple_differ(desired: Resource, live: Resource | None) -> Change:
    """A kind-agnostic differ: replace when spec.type changes, update otherwise."""
    if live is None:
        return Change(desired.key, Action.create, desired, None)
    fields = diff_specs(desired.spec, live.spec, sensitive=desired.sensitive | live.sensitive)
    if not fields:
        return Change(desired.key, Action.noop, desired, live)
    replace = desired.spec.get("type") != live.spec.get("type")
    return Change(desired.key, Action.replace if replace else Action.update, desired, live,
                  fields)


def run_case(case: Mapping[str, Any], *, reverse_inputs: bool = False) -> Plan:
    desired = [resource_of(e) for e in case.get("desired") or []]
    live = [resource_of(e) for e in case.get("live") or []]
    inventory = [resource_of(e) for e in case.get("inventory") or []]
    if reverse_inputs:
        desired, live, inventory = desired[::-1], live[::-1], inventory[::-1]
    options = case.get("options") or {}
    _check_fields(f"case {case['name']!r} options", options, OPTION_FIELDS)
    return plan_changes("rev1", desired, {r.key: r for r in live},
                        {r.key: r for r in inventory}, simple_differ, **options)


def shown(item: DiffItem) -> str:
    return f"{item.op} {item.path}: {json.dumps(item.old)} -> {json.dumps(item.new)}"


def values_match(expected: list[str], items: tuple[DiffItem, ...]) -> bool:
    if len(expected) != len(items):
        return False
    for want, item in zip(expected, items, strict=True):
        pattern = re.escape(want).replace(re.escape("<redacted>"), r"<redacted:[0-9a-f]{12}>")
        if not re.fullmatch(pattern, shown(item)):
            return False
    return True


def observed(change: Change, want: Mapping[str, Any]) -> dict[str, Any]:
    """The change in the case's notation, limited to what the expectation checks."""
    got: dict[str, Any] = {"key": str(change.key), "action": change.action.value}
    if "fields" in want:
        got["fields"] = [f"{i.op} {i.path}" for i in change.fields]
    if "values" in want:
        # Shown as expected when it matches the pattern, as it is otherwise.
        got["values"] = (want["values"] if values_match(want["values"], change.fields)
                         else [shown(i) for i in change.fields])
    got["reason"] = change.reason
    return got


def expected(want: Mapping[str, Any]) -> dict[str, Any]:
    out = {"key": str(key_of(want["key"])), "action": want["action"]}
    out.update({k: want[k] for k in ("fields", "values") if k in want})
    out["reason"] = want.get("reason")
    return out


def check_error(case: Mapping[str, Any], raised: pytest.ExceptionInfo[Exception]) -> None:
    error = case["error"]
    assert type(raised.value).__name__ == error["type"], (
        f"expected {error['type']}, got {type(raised.value).__name__}: {raised.value}")
    assert error["message"] in str(raised.value)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_case(case: dict[str, Any]) -> None:
    _check_fields(f"case {case['name']!r} in {case['_file']}", case, CASE_FIELDS | {"_file"})
    assert ("expect" in case) != ("error" in case), "a case has either expect or error"
    if "error" in case:
        error_type = getattr(errors, case["error"]["type"])
        with pytest.raises(error_type) as raised:
            run_case(case)
        check_error(case, raised)
        return

    plan = run_case(case)

    wants = case["expect"] or []
    for want in wants:
        _check_fields(f"case {case['name']!r} expectation", want, EXPECT_FIELDS)
    got = [observed(c, w) for c, w in zip(plan.changes, wants, strict=False)]
    got += [observed(c, {}) for c in plan.changes[len(wants):]]
    assert got == [expected(w) for w in wants]
    assert plan.revision == "rev1"
    for secret in case.get("never_shown", []):
        for change in plan.changes:
            assert secret not in repr(change.fields), f"{secret!r} shown in {change.key}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_does_not_depend_on_input_order(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"]["type"])) as raised:
            run_case(case, reverse_inputs=True)
        check_error(case, raised)
        return
    assert run_case(case, reverse_inputs=True) == run_case(case)


def test_cases_are_many_and_uniquely_named() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names), "two cases share a name"
