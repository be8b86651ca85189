"""What one plan or sync of one app found and did, as the CLI, API and UI show it."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward.core.model import Action, Health, Key, Outcome, Plan, Result

__all__ = ["AppReport"]


@dataclass
class AppReport:
    """What one plan or sync of one app found and did."""

    app: str
    revision: str
    subject: str
    plan: Plan
    health: Health
    results: list[Result] = field(default_factory=list)
    outcome: Outcome | None = None          # None for a dry run
    run_id: int | None = None
    error: str | None = None
    held: str | None = None
    pinned: str | None = None
    healths: dict[Key, Health] = field(default_factory=dict)
    probe: str | None = None                # what the app's probe said, if it has one

    def tally(self) -> dict[str, int]:
        """Counts a person reads: created, updated, deleted, unchanged, failed, skipped."""
        out = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "failed": 0,
               "skipped": 0}
        names = {Action.create: "created", Action.update: "updated", Action.replace: "updated",
                 Action.delete: "deleted"}
        out["unchanged"] = self.plan.settled + sum(
            1 for c in self.plan.changes if c.action is Action.noop and c.desired is not None)
        for result in self.results:
            if result.skipped:
                out["skipped"] += 1
            elif not result.ok:
                out["failed"] += 1
            else:
                out[names[result.change.action]] += 1
        return out
