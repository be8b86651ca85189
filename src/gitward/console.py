"""How gitward shows things in a terminal, and as JSON for scripts.

Every CLI command builds plain data (`*_data` functions, also the JSON
output) and a Rich rendering of it. Colours follow the usual diff habit:
green for what is added, red for what is removed, yellow for changes.
Secrets never reach here unredacted: providers and the core already
replace sensitive values with ``<redacted:...>`` fingerprints.
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gitward.core.model import Action, Change, DiffItem, Health, Run

if TYPE_CHECKING:
    from rich.console import Console

    from gitward.engine.sync import AppReport

__all__ = ["Output"]

ACTION_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red",
                "noop": "dim"}
ACTION_MARK = {"create": "+", "update": "~", "replace": "±", "delete": "-", "noop": " "}
ACTION_WORD = {"noop": "unchanged", "create": "created", "update": "updated",
               "replace": "replaced", "delete": "deleted"}
OUTCOME_STYLE = {"succeeded": "green", "failed": "red", "partial": "yellow",
                 "interrupted": "red", "running": "cyan"}
HEALTH_STYLE = {"healthy": "green", "progressing": "cyan", "unknown": "dim",
                "missing": "yellow", "degraded": "red"}


def short(revision: str | None) -> str:
    return (revision or "")[:7]


def when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def change_data(change: Change) -> dict[str, Any]:
    return {"key": str(change.key), "kind": change.key.kind, "name": change.key.name,
            "target": change.key.target, "action": change.action.value,
            "fields": [{"op": f.op, "path": f.path, "old": _jsonable(f.old),
                        "new": _jsonable(f.new)} for f in change.fields],
            "reason": change.reason}


def report_data(report: AppReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "app": report.app, "revision": report.revision, "subject": report.subject,
        "in_sync": report.plan.in_sync, "health": report.health.value,
        "pinned": report.pinned,
    }
    if report.run_id is None and not report.held:
        # A plan: what would change. A run reports what did, in its results.
        data["changes"] = [change_data(c) for c in report.plan.pending]
    else:
        data.update({
            "run": report.run_id, "outcome": report.outcome.value if report.outcome else None,
            "counts": report.tally(), "error": report.error, "held": report.held,
            "results": [{"key": str(r.change.key), "action": r.change.action.value,
                         "ok": r.ok, "skipped": r.skipped, "error": r.error,
                         "duration": round(r.duration, 6)} for r in report.results],
        })
    return data


def run_data(run: Run) -> dict[str, Any]:
    return {"id": run.id, "app": run.app, "revision": run.revision, "subject": run.subject,
            "trigger": run.trigger, "started": run.started, "finished": run.finished,
            "outcome": run.outcome.value, "health": run.health.value if run.health else None,
            "counts": dict(run.counts), "error": run.error,
            "results": [{"key": str(r.key), "action": r.action.value, "ok": r.ok,
                         "skipped": r.skipped, "error": r.error, "duration": r.duration,
                         "fields": [{"op": f.op, "path": f.path, "old": _jsonable(f.old),
                                     "new": _jsonable(f.new)} for f in r.fields]}
                        for r in run.results]}


class Output:
    """Prints to the terminal (Rich) or as one JSON document (``--output json``)."""

    def __init__(self, mode: str = "text") -> None:
        self.json = mode == "json"
        self._console: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # Piped output is read by people too (CI logs): give tables room.
            width = None if sys.stdout.isatty() else 120
            self._console = Console(highlight=False, soft_wrap=False, width=width)
        return self._console

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False)
        return self._err

    def emit_json(self, data: Any) -> None:
        # Indented for a person at a terminal. For a pipe (a script, jq), compact:
        # Python's C encoder writes the report of a large sync ~10x faster.
        if sys.stdout.isatty():
            json.dump(data, sys.stdout, indent=2, default=str)
        else:
            sys.stdout.write(json.dumps(data, default=str))
        sys.stdout.write("\n")

    def error(self, message: str) -> None:
        if self.json:
            self.emit_json({"error": message})
        else:
            from rich.markup import escape

            self.err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)

    def note(self, message: str) -> None:
        if not self.json:
            self.err.print(message)

    # --- plans ------------------------------------------------------------------

    def plan(self, reports: Sequence[AppReport]) -> None:
        if self.json:
            self.emit_json({"apps": [report_data(r) for r in reports]})
            return
        from rich.markup import escape

        for report in reports:
            pin = f" [magenta](pinned {short(report.pinned)})[/]" if report.pinned else ""
            head = (f"[bold]{escape(report.app)}[/] at [cyan]{short(report.revision)}[/] "
                    f"{escape(report.subject)}{pin}")
            if report.plan.in_sync:
                self.console.print(f"{head}: [green]in sync[/]")
                continue
            counts = {k: v for k, v in report.plan.counts().items() if v and k != "noop"}
            summary = ", ".join(f"{v} to {k}" for k, v in counts.items())
            self.console.print(f"{head}: [yellow]{summary}[/]")
            for change in report.plan.changes:
                if change.action is Action.noop and not change.reason:
                    continue
                self._change(change)

    def _change(self, change: Change) -> None:
        from rich.markup import escape

        action = change.action.value
        style = ACTION_STYLE[action]
        where = change.resource.origin
        origin = f" [dim]({escape(str(where))})[/]" if where else ""
        reason = f" [dim]— {escape(change.reason)}[/]" if change.reason else ""
        label = "keep" if change.action is Action.noop else action
        self.console.print(f"  [{style}]{ACTION_MARK[action]} {label:<7} "
                           f"{escape(str(change.key))}[/]{origin}{reason}")
        for item in change.fields:
            self._field(item)

    def _field(self, item: DiffItem) -> None:
        from rich.markup import escape

        if isinstance(item.old, str) and isinstance(item.new, str) and (
                "\n" in item.old or "\n" in item.new):
            self.console.print(f"      [yellow]{escape(item.path)}[/]:")
            lines = difflib.unified_diff(item.old.splitlines(), item.new.splitlines(),
                                         "live", "desired", lineterm="", n=2)
            for line in list(lines)[2:]:
                style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
                text = escape(line)
                self.console.print(f"        [{style}]{text}[/]" if style else f"        {text}")
            return
        if item.op == "add":
            self.console.print(f"      [green]+ {escape(item.path)}: {escape(_show(item.new))}[/]")
        elif item.op == "remove":
            self.console.print(f"      [red]- {escape(item.path)}: {escape(_show(item.old))}[/]")
        else:
            self.console.print(f"      [yellow]~ {escape(item.path)}:[/] "
                               f"[red]{escape(_show(item.old))}[/] → "
                               f"[green]{escape(_show(item.new))}[/]")

    # --- syncs ------------------------------------------------------------------

    def sync(self, reports: Sequence[AppReport]) -> None:
        if self.json:
            self.emit_json({"apps": [report_data(r) for r in reports]})
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="sync", title_justify="left")
        for column in ("app", "revision", "outcome", "health", "changes", "time"):
            table.add_column(column, no_wrap=column != "changes",
                             justify="right" if column == "time" else "left")
        for report in reports:
            counts = report.tally()
            outcome = report.outcome.value if report.outcome else ("held" if report.held
                                                                   else "dry-run")
            seconds = sum(r.duration for r in report.results)
            changes = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing"
            table.add_row(escape(report.app), short(report.revision),
                          f"[{OUTCOME_STYLE.get(outcome, 'yellow')}]{outcome}[/]",
                          _health(report.health), changes, f"{seconds:.2f}s")
        self.console.print(table)
        for report in reports:
            if report.held:
                self.console.print(f"[yellow]{escape(report.app)}[/]: {escape(report.held)}")
            for result in report.results:
                if not result.ok and not result.skipped:
                    self.console.print(f"[red]{escape(report.app)}: {result.change.action} "
                                       f"{escape(str(result.change.key))} failed:[/] "
                                       f"{escape(result.error or '')}")

    # --- status, history ---------------------------------------------------------

    def status(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if self.json:
            self.emit_json({"apps": list(rows)})
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="apps", title_justify="left")
        for column in ("app", "target", "revision", "sync", "health", "last sync", "last run"):
            table.add_column(column, no_wrap=column != "revision", max_width=(
                48 if column == "revision" else None))
        for row in rows:
            sync = row["sync"]
            sync_style = {"synced": "green", "out_of_sync": "yellow", "pinned": "magenta"}.get(
                sync, "red")
            pinned = f" (pinned {short(row.get('pinned'))})" if row.get("pinned") else ""
            outcome = row.get("last_outcome") or "-"
            table.add_row(escape(row["app"]), escape(row["target"]),
                          f"{short(row.get('revision'))} {escape(row.get('subject') or '')}",
                          f"[{sync_style}]{sync}[/]{pinned}", _health_text(row["health"]),
                          when(row.get("synced_at")),
                          f"[{OUTCOME_STYLE.get(outcome, 'dim')}]{outcome}[/]")
        self.console.print(table)
        for row in rows:
            if row.get("error"):
                self.console.print(f"[red]{escape(row['app'])}:[/] {escape(row['error'])}")

    def history(self, app: str, runs: Iterable[Run]) -> None:
        runs = list(runs)
        if self.json:
            self.emit_json({"app": app, "runs": [run_data(r) for r in runs]})
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"history of {app}", title_justify="left")
        for column in ("run", "time", "revision", "trigger", "outcome", "health", "changes"):
            table.add_column(column, no_wrap=column not in ("revision", "changes"),
                             max_width=48 if column == "revision" else None)
        for run in runs:
            counts = ", ".join(f"{v} {ACTION_WORD.get(k, k)}" for k, v in run.counts.items()
                               if v) or "no changes"
            outcome = run.outcome.value
            table.add_row(str(run.id), when(run.started),
                          f"{short(run.revision)} {escape(run.subject)}", run.trigger,
                          f"[{OUTCOME_STYLE.get(outcome, '')}]{outcome}[/]",
                          _health(run.health) if run.health else "-", escape(counts))
        self.console.print(table)

    def run(self, run: Run) -> None:
        if self.json:
            self.emit_json(run_data(run))
            return
        from rich.markup import escape

        self.console.print(f"run {run.id} of [bold]{escape(run.app)}[/] at "
                           f"{short(run.revision)} {escape(run.subject)}: "
                           f"[{OUTCOME_STYLE.get(run.outcome.value, '')}]{run.outcome}[/] "
                           f"({run.trigger}, {when(run.started)})")
        if run.error:
            self.console.print(f"  [red]{escape(run.error)}[/]")
        for result in run.results:
            mark = "[green]ok[/]" if result.ok else ("[dim]skipped[/]" if result.skipped
                                                     else "[red]failed[/]")
            self.console.print(f"  {mark} {result.action} {escape(str(result.key))}"
                               + (f": {escape(result.error)}" if result.error else ""))
            for item in result.fields:
                self._field(item)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value) if len(value) < 80 else json.dumps(value[:77] + "...")
    return json.dumps(value, default=str)


def _health(health: Health) -> str:
    return _health_text(health.value)


def _health_text(health: str) -> str:
    return f"[{HEALTH_STYLE.get(health, '')}]{health}[/]"
