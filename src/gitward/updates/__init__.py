"""The version updater: keeps versions current by committing to Git.

The third part of gitward, beside the repository and the agent. It never
touches a live system; the agent deploys its commits like any other::

    policies (kind: UpdatePolicy) ─┐
    markers (# gitward:update NAME)─┼─▶ plan_updates ─▶ [ProposedBump] ─▶ apply_updates
    version sources (registry, pypi,┘     (select)                      (commit + push)
      git tags, http JSON)

- `policy`: the ``kind: UpdatePolicy`` schema and `load_policies`.
- `sources`: the registries and indexes asked for versions.
- `select`: semver ranges, regex, numerical, alphabetical and calendar order.
- `markers`: finding marked values and editing them in place (one-line diffs).
- `plan`: markers + versions → proposed bumps (no writes).
- `commit`: one commit in the bare mirror, pushed or proposed on a branch,
  rebuilt on the new head after a push race; never forced.
- `run`: a whole run with its events in the store; `cli`: ``gitward update``.
"""

from __future__ import annotations

from gitward.updates.errors import (
    MarkerError,
    UpdateCommitError,
    UpdatePolicyError,
    VersionSourceError,
)
from gitward.updates.plan import ProposedBump, UpdatePlan, plan_updates
from gitward.updates.policy import UpdatePolicy, load_policies
from gitward.updates.run import UpdateReport, apply_updates, due_policies, run_updates

__all__ = [
    "MarkerError",
    "ProposedBump",
    "UpdateCommitError",
    "UpdatePlan",
    "UpdatePolicy",
    "UpdatePolicyError",
    "UpdateReport",
    "VersionSourceError",
    "apply_updates",
    "due_policies",
    "load_policies",
    "plan_updates",
    "run_updates",
]
