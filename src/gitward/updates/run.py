"""One run of the version updater: plan, commit, push, record.

The third part of gitward, beside the repository and the agent. It never
touches a live system: it commits to Git and the agent deploys that commit
like any other. A run is::

    snapshot = source.fetch(branch)
    policies = load_policies(snapshot)
    plan = plan_updates(snapshot, policies)          # markers + sources -> bumps
    report = apply_updates(source, branch, plan, policies, store)   # commit + push

and each step leaves events in the store (app = the policy's name), shown by
``gitward events`` and served by the API: ``update-proposed`` per bump,
``update-committed`` per pushed commit (or proposed branch), ``update-failed``
with the one-line error, and ``update-checked`` per policy when there was
nothing to do (with the counts of what its source listed and skipped).

The agent runs each policy on its own `UpdatePolicy.interval`; `due_policies`
says which are due.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.core.errors import GitwardError
from gitward.core.seams import Store
from gitward.sources.git import GitSource
from gitward.updates.commit import CommitResult, commit_group, group_bumps
from gitward.updates.plan import ProposedBump, UpdatePlan, plan_updates
from gitward.updates.policy import UpdatePolicy, load_policies

__all__ = ["EVENT_KINDS", "UpdateReport", "apply_updates", "due_policies", "plan_updates",
           "record_failure", "record_plan", "run_updates", "update_events"]

EVENT_KINDS = ("update-proposed", "update-committed", "update-failed", "update-checked")


@dataclass(slots=True)
class UpdateReport:
    """What a run proposed and, unless it was a dry run, what it pushed."""

    plan: UpdatePlan
    branch: str
    dry_run: bool
    commits: list[CommitResult] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        return any(c.sha for c in self.commits)


def run_updates(source: GitSource, branch: str, store: Store | None, *,
                dry_run: bool = False, only: Collection[str] | None = None) -> UpdateReport:
    """Fetch `branch`, plan every policy (or the `only` ones) and, unless `dry_run`,
    commit and push. Errors are recorded as ``update-failed`` and raised."""
    try:
        snapshot = source.fetch(branch)
        policies = load_policies(snapshot)
        plan = plan_updates(snapshot, policies, only=only)
        if store is not None:
            record_plan(store, plan)
        if dry_run:
            return UpdateReport(plan, branch, True)
        return apply_updates(source, branch, plan, policies, store)
    except GitwardError as error:
        if store is not None:
            record_failure(store, only, str(error))
        raise


def apply_updates(source: GitSource, branch: str, plan: UpdatePlan,
                  policies: Mapping[str, UpdatePolicy], store: Store | None = None
                  ) -> UpdateReport:
    """Commit and push `plan`'s bumps on `branch`, one commit per group."""
    report = UpdateReport(plan, branch, False)
    for group in group_bumps(plan.bumps, policies):
        result = commit_group(source, branch, group, policies)
        if result is None:
            continue
        report.commits.append(result)
        if store is not None:
            _record_commit(store, result)
    return report


def record_plan(store: Store, plan: UpdatePlan) -> None:
    """An ``update-proposed`` event per bump; ``update-checked`` for a policy without any."""
    proposed = {bump.policy for bump in plan.bumps}
    for bump in plan.bumps:
        store.event(bump.policy, "update-proposed",
                    f"{bump.where}: {bump.old} → {bump.new} ({bump.source})",
                    revision=plan.revision, data=_bump_data(bump))
    for outcome in plan.outcomes:
        if outcome.policy in proposed:
            continue
        choice = outcome.choice
        message = choice.note or f"up to date at {choice.chosen}"
        if choice.skipped:
            message += f"; {choice.skipped} unparsable tags skipped"
        store.event(outcome.policy, "update-checked", message, revision=plan.revision,
                    data={"source": outcome.source, "chosen": choice.chosen,
                          "listed": choice.listed, "candidates": choice.candidates,
                          "skipped": choice.skipped, "ignored": choice.ignored})


def record_failure(store: Store, policies: Collection[str] | None, message: str) -> None:
    """An ``update-failed`` event for each policy named (one with no app if none)."""
    for name in sorted(policies) if policies else [None]:
        store.event(name, "update-failed", message)


def _record_commit(store: Store, result: CommitResult) -> None:
    for name in sorted({bump.policy for bump in result.bumps}):
        bumps = [b for b in result.bumps if b.policy == name]
        if result.already_proposed:
            message = f"already proposed on branch {result.branch}"
        else:
            message = (f"committed {(result.sha or '')[:12]} to {result.branch}: "
                       + ", ".join(f"{b.where} {b.old_version} → {b.new_version}" for b in bumps))
        store.event(name, "update-committed", message, revision=result.sha,
                    data={"branch": result.branch, "attempts": result.attempts,
                          "already_proposed": result.already_proposed,
                          "bumps": [_bump_data(b) for b in bumps]})


def _bump_data(bump: ProposedBump) -> dict[str, Any]:
    return {"policy": bump.policy, "path": bump.path, "line": bump.line, "old": bump.old,
            "new": bump.new, "old_version": bump.old_version,
            "new_version": bump.new_version, "source": bump.source}


def due_policies(policies: Mapping[str, UpdatePolicy], last_run: Mapping[str, float],
                 now: float) -> list[str]:
    """Names of the policies whose interval has passed since `last_run` (never run: due)."""
    return sorted(name for name, policy in policies.items() if not policy.suspend
                  and now - last_run.get(name, float("-inf")) >= policy.interval)


def update_events(store: Store, policy: str | None = None, limit: int = 100
                  ) -> list[dict[str, Any]]:
    """The updater's recent events, newest last (what ``/api/v1/updates`` serves)."""
    found = [e for e in store.events(policy, 0, 1_000_000) if e["kind"] in EVENT_KINDS]
    return found[-limit:]
