"""gitward's pure core: model, diff, plan, order, health.

Nothing in here does I/O, reads the clock or imports another part of
gitward; every function is a value in, value out, and is table-tested
(`tests/core/cases/`). The rest of gitward is glue around these types:
sources and renderers produce desired `Resource`s, providers produce live
ones, `plan_changes` pairs them into a `Plan`, the engine applies it and the
store records `Result`s and `Run`s.
"""

from gitward.core.diff import diff_specs, redact
from gitward.core.errors import GitwardError
from gitward.core.model import (
    Action,
    Change,
    DiffItem,
    Health,
    Key,
    Origin,
    Outcome,
    Plan,
    RecordedResult,
    Resource,
    Result,
    Run,
    worst_health,
)
from gitward.core.order import batches, order_resources
from gitward.core.plan import check_unique, plan_changes

__all__ = [
    "Action", "Change", "DiffItem", "GitwardError", "Health", "Key", "Origin", "Outcome",
    "Plan", "RecordedResult", "Resource", "Result", "Run", "batches", "check_unique",
    "diff_specs", "order_resources", "plan_changes", "redact", "worst_health",
]
