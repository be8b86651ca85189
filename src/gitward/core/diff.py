"""Structural diff of two specs, with field paths a person can read.

>>> for item in diff_specs({"mode": "0644", "users": ["a"]},
...                        {"mode": "0600", "users": ["a", "b"]}):
...     print(item)
DiffItem(op='change', path='spec.mode', old='0600', new='0644')
DiffItem(op='remove', path='spec.users[1]', old='b', new=None)

`desired` is compared against `live`: `add` is a field only the desired side
has, `remove` one only live has, `change` one both have with other values.
Fields named in `ignore` (top-level spec keys) are skipped, and values of
`sensitive` fields are replaced by a fingerprint before they leave this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from gitward.core.model import DiffItem

__all__ = ["diff_specs", "redact"]


def redact(value: Any) -> str:
    """A stable fingerprint that tells two secrets apart without showing them."""
    raw = json.dumps(value, sort_keys=True, default=str).encode()
    return f"<redacted:{hashlib.sha256(raw).hexdigest()[:12]}>"


def diff_specs(desired: Mapping[str, Any], live: Mapping[str, Any], *, prefix: str = "spec",
               ignore: Collection[str] = (), sensitive: Collection[str] = ()
               ) -> tuple[DiffItem, ...]:
    items: list[DiffItem] = []
    for name in _names(desired, live):
        if name in ignore:
            continue
        path = _field_path(prefix, name)
        before = len(items)
        if name not in live:
            items.append(DiffItem("add", path, None, desired[name]))
        elif name not in desired:
            items.append(DiffItem("remove", path, live[name], None))
        else:
            _diff_value(desired[name], live[name], path, items)
        if name in sensitive:
            items[before:] = [DiffItem(i.op, i.path, _hide(i.old), _hide(i.new))
                              for i in items[before:]]
    return tuple(items)


def _hide(value: Any) -> Any:
    return None if value is None else redact(value)


def _diff_value(new: Any, old: Any, path: str, out: list[DiffItem]) -> None:
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        for name in _names(new, old):
            sub = _field_path(path, name)
            if name not in old:
                out.append(DiffItem("add", sub, None, new[name]))
            elif name not in new:
                out.append(DiffItem("remove", sub, old[name], None))
            else:
                _diff_value(new[name], old[name], sub, out)
    elif isinstance(new, list | tuple) and isinstance(old, list | tuple):
        for i in range(max(len(new), len(old))):
            sub = f"{path}[{i}]"
            if i >= len(old):
                out.append(DiffItem("add", sub, None, new[i]))
            elif i >= len(new):
                out.append(DiffItem("remove", sub, old[i], None))
            else:
                _diff_value(new[i], old[i], sub, out)
    elif new != old or (type(new) is not type(old) and not _same_number(new, old)):
        out.append(DiffItem("change", path, old, new))


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers)
            and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _names(new: Mapping[Any, Any], old: Mapping[Any, Any]) -> list[Any]:
    # YAML keys need not be strings; sort by text, then type, so 1 and "1" keep one order.
    return sorted(set(new) | set(old), key=lambda name: (str(name), type(name).__name__))


def _field_path(parent: str, name: Any) -> str:
    """``spec.mode``, or ``spec["a.b"]`` when the name would not read as one step."""
    return f"{parent}.{name}" if _plain(name) else f"{parent}[{json.dumps(name)}]"


def _plain(name: Any) -> bool:
    return isinstance(name, str) and name.replace("_", "a").replace("-", "a").isalnum()
