"""Core values as JSON, the way both stores keep them, with secrets taken out.

The store is gitward's memory: inventory rows hold the `Resource` as applied
and as read back, result rows hold the `DiffItem`s shown to a person. Both
pass through here on the way in and out, so that a `Resource` read back equals
the one written (tuples come back as lists, like any JSON) — except for the
values of its `sensitive` spec fields, which are replaced by
`gitward.core.diff.redact` fingerprints before they are stored:

>>> res = Resource(Key("Secret", "local", "db"), {"password": "hunter2"},
...                sensitive=frozenset({"password"}))
>>> resource_to_json(res)["spec"]["password"]
'<redacted:4ddbb67bf993>'

Redaction is idempotent: an already-redacted value keeps its fingerprint, so
the same secret always shows the same fingerprint, wherever it was redacted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from gitward.core.diff import redact
from gitward.core.model import Action, DiffItem, Key, Origin, Plan, Resource, Result

__all__ = [
    "diff_items_from_json",
    "diff_items_to_json",
    "key_from_json",
    "key_to_json",
    "plan_summary_from_json",
    "plan_summary_to_json",
    "redact_diff_items",
    "redact_spec",
    "resource_from_json",
    "resource_to_json",
    "result_fields_to_json",
]

_REDACTED = re.compile(r"<redacted:[0-9a-f]{12}>")


def key_to_json(key: Key) -> dict[str, str]:
    return {"kind": key.kind, "target": key.target, "name": key.name}


def key_from_json(data: Mapping[str, str]) -> Key:
    return Key(data["kind"], data["target"], data["name"])


def resource_to_json(resource: Resource, also_sensitive: Collection[str] = ()
                     ) -> dict[str, Any]:
    """`resource` as JSON-ready data, its sensitive values (and `also_sensitive`
    ones, e.g. the desired side's secrets on a live resource) redacted."""
    sensitive = resource.sensitive | frozenset(also_sensitive)
    return {
        "key": key_to_json(resource.key),
        "spec": redact_spec(resource.spec, sensitive),
        "wave": resource.wave,
        "depends_on": [key_to_json(dep) for dep in resource.depends_on],
        "prune": resource.prune,
        "claim": resource.claim,
        "origin": _origin_to_json(resource.origin),
        "sensitive": sorted(sensitive),
    }


def resource_from_json(data: Mapping[str, Any]) -> Resource:
    return Resource(
        key=key_from_json(data["key"]),
        spec=data["spec"],
        wave=data.get("wave", 0),
        depends_on=tuple(key_from_json(dep) for dep in data.get("depends_on", ())),
        prune=data.get("prune", True),
        claim=data.get("claim"),
        origin=_origin_from_json(data.get("origin")),
        sensitive=frozenset(data.get("sensitive", ())),
    )


def diff_items_to_json(items: Iterable[DiffItem]) -> list[dict[str, Any]]:
    return [{"op": i.op, "path": i.path, "old": i.old, "new": i.new} for i in items]


def diff_items_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[DiffItem, ...]:
    return tuple(DiffItem(d["op"], d["path"], d.get("old"), d.get("new")) for d in data)


def result_fields_to_json(result: Result) -> list[dict[str, Any]]:
    """The diff a result shows, with every field that any side of it calls
    sensitive hidden."""
    change = result.change
    sides = (change.desired, change.live, result.live_after)
    sensitive = frozenset().union(*(side.sensitive for side in sides if side is not None))
    return diff_items_to_json(redact_diff_items(change.fields, sensitive))


def plan_summary_to_json(plan: Plan) -> list[dict[str, str]]:
    """The changes a run is about to make (noops left out): the journal entry
    that tells, after a crash, what may have been half done."""
    return [{**key_to_json(c.key), "action": c.action.value} for c in plan.pending]


def plan_summary_from_json(data: Iterable[Mapping[str, str]]) -> list[tuple[Key, Action]]:
    return [(key_from_json(d), Action(d["action"])) for d in data]


def redact_spec(spec: Mapping[str, Any], sensitive: Collection[str]) -> dict[str, Any]:
    """A copy of `spec` whose `sensitive` top-level fields hold fingerprints."""
    return {name: _hide(value) if name in sensitive else value for name, value in spec.items()}


def redact_diff_items(items: Iterable[DiffItem], sensitive: Collection[str]
                      ) -> tuple[DiffItem, ...]:
    """Hide old and new values of items under a sensitive field (``spec.password``,
    ``spec.password.inner``, ``spec.password[0]``): the differ should have done
    it already, the store does not count on it."""
    if not sensitive:
        return tuple(items)
    return tuple(DiffItem(i.op, i.path, _hide(i.old), _hide(i.new))
                 if _top_field(i.path) in sensitive else i for i in items)


def _top_field(path: str) -> str | None:
    if not path.startswith("spec."):
        return None
    return re.split(r"[.\[]", path.removeprefix("spec."), maxsplit=1)[0]


def _hide(value: Any) -> Any:
    if value is None or (isinstance(value, str) and _REDACTED.fullmatch(value)):
        return value
    return redact(value)


def _origin_to_json(origin: Origin | None) -> dict[str, Any] | None:
    return None if origin is None else {"path": origin.path, "line": origin.line}


def _origin_from_json(data: Mapping[str, Any] | None) -> Origin | None:
    return None if data is None else Origin(data["path"], data.get("line"))
