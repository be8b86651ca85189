"""The engine: the only glue between gitward's parts.

One sync of one app reads top to bottom (`sync.sync_app`):

1. take the app's lock, so one operation runs per app at a time, and mark runs
   left `running` by a crashed process as `interrupted`;
2. render the app from the snapshot (cached by the Git tree ids it reads);
3. read the live state of desired and inventoried resources, batched per
   provider;
4. plan (pure, `gitward.core.plan_changes`); a dry run stops here;
5. journal the run in the store, then apply the plan wave by wave, running
   independent changes of a batch in a thread pool and recording each result
   as it lands (with the inventory update that goes with it);
6. record health and outcome.

Rendering and fetch errors stop before step 5, so they never prune. Apps are
synced in `depends_on` order; an app whose dependency failed is held.
"""

from typing import Any

__all__ = ["AppReport", "Workspace", "default_state_dir", "plan_app", "sync_app", "sync_apps"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: a one-shot command that finds nothing to do should
    # not pay for the planner, renderers and pydantic models it never runs.
    if name == "AppReport":
        from gitward.engine.report import AppReport

        return AppReport
    if name in ("plan_app", "sync_app", "sync_apps"):
        from gitward.engine import sync

        return getattr(sync, name)
    if name in ("Workspace", "default_state_dir"):
        from gitward.engine import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
