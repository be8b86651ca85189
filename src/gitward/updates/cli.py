"""The body of ``gitward update``: show proposed bumps, or commit and push them.

``gitward update --repo URL --dry-run`` prints a table (policy, file:line,
old, new, source) and commits nothing; without ``--dry-run`` the bumps are
committed and pushed as the policies say. ``--ref`` names the branch to
update (default: the origin's default branch). ``--output json`` gives the
same as one JSON document. The click wrapper lives in `gitward.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitward.console import Output
from gitward.core.errors import GitwardError

__all__ = ["report_data", "update_command"]


def update_command(repo: str, ref: str | None, store: str | None, state_dir: Path | None,
                   dry_run: bool, output: str) -> None:
    """Run the updater once; exit 1 with one line on a user-facing error."""
    from gitward.engine.workspace import default_state_dir
    from gitward.sources import open_source
    from gitward.stores import open_store
    from gitward.updates.run import run_updates

    out = Output(output)
    try:
        source = open_source(repo, state_dir or default_state_dir())
        branch = ref or source.default_branch()
        report = run_updates(source, branch, open_store(store), dry_run=dry_run)
    except GitwardError as error:
        out.error(str(error))
        raise click.exceptions.Exit(1) from None
    if out.json:
        out.emit_json(report_data(report))
    else:
        _print(out, report)


def report_data(report: Any) -> dict[str, Any]:
    """An `UpdateReport` as plain data (the JSON output)."""
    return {
        "revision": report.plan.revision, "branch": report.branch, "dry_run": report.dry_run,
        "bumps": [{"policy": b.policy, "path": b.path, "line": b.line, "old": b.old,
                   "new": b.new, "old_version": b.old_version, "new_version": b.new_version,
                   "source": b.source} for b in report.plan.bumps],
        "policies": [{"policy": o.policy, "source": o.source, "markers": o.markers,
                      "chosen": o.choice.chosen, "listed": o.choice.listed,
                      "skipped": o.choice.skipped, "ignored": o.choice.ignored,
                      "note": o.choice.note} for o in report.plan.outcomes],
        "commits": [{"sha": c.sha, "branch": c.branch, "attempts": c.attempts,
                     "already_proposed": c.already_proposed,
                     "bumps": [f"{b.path}:{b.line}" for b in c.bumps]} for c in report.commits],
    }


def _print(out: Output, report: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    plan = report.plan
    for outcome in plan.outcomes:
        if outcome.choice.note:
            out.console.print(f"[yellow]{escape(outcome.policy)}[/]: {escape(outcome.choice.note)}")
        elif outcome.choice.skipped:
            out.console.print(f"[dim]{escape(outcome.policy)}: {outcome.choice.skipped} "
                              "unparsable versions skipped[/]")
    if not plan.bumps:
        out.console.print(f"all marked values are current at {plan.revision[:7]}")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("policy", "file:line", "old", "new", "source"):
        table.add_column(column, overflow="fold")  # long image references are never cut
    for bump in plan.bumps:
        table.add_row(escape(bump.policy), escape(bump.where), f"[red]{escape(bump.old)}[/]",
                      f"[green]{escape(bump.new)}[/]", escape(bump.source))
    out.console.print(table)
    if report.dry_run:
        out.console.print(f"{len(plan.bumps)} proposed; dry run, nothing committed")
        return
    for commit in report.commits:
        if commit.already_proposed:
            out.console.print(f"already proposed on branch {commit.branch}")
        else:
            retried = f" after {commit.attempts} attempts" if commit.attempts > 1 else ""
            out.console.print(f"committed {commit.sha[:7]} to {commit.branch}{retried}")
    if not report.commits:
        out.console.print("nothing to commit: the branch already has these values")
