"""Small builders for the resources, changes and results the store tests feed in."""

from __future__ import annotations

from typing import Any

from gitward.core.model import Action, Change, DiffItem, Key, Plan, Resource, Result


def key(name: str, kind: str = "File") -> Key:
    return Key(kind, "local", name)


def resource(name: str, **spec: Any) -> Resource:
    return Resource(key(name), {"path": f"/etc/{name}", **spec}, claim=f"fs:/etc/{name}")


def create(res: Resource) -> Change:
    return Change(res.key, Action.create, res, None,
                  tuple(DiffItem("add", f"spec.{name}", None, value)
                        for name, value in sorted(res.spec.items())))


def update(res: Resource, live: Resource) -> Change:
    return Change(res.key, Action.update, res, live,
                  (DiffItem("change", "spec.content", live.spec.get("content"),
                            res.spec.get("content")),))


def delete(live: Resource) -> Change:
    return Change(live.key, Action.delete, None, live)


def in_sync(res: Resource) -> Change:
    return Change(res.key, Action.noop, res, res)


def already_absent(res: Resource) -> Change:
    return Change(res.key, Action.noop, None, None, reason="already absent")


def applied(change: Change, live_after: Resource | None = None) -> Result:
    """The result of a change that worked; live after it is the desired side."""
    return Result(change, ok=True, live_after=live_after or change.desired, duration=0.25)


def failed(change: Change, error: str = "permission denied") -> Result:
    return Result(change, ok=False, error=error, duration=0.5)


def plan_of(*changes: Change, revision: str = "a" * 40) -> Plan:
    return Plan(revision, changes)
