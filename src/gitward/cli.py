"""gitward's command line: thin, each command one engine or store call.

Every command takes ``--repo`` (a local path or a Git URL), ``--ref``,
``--store`` and ``--output json``; a user mistake prints one line naming the
file, field or resource and exits 1; ``plan`` exits 2 when changes are
pending, so scripts can gate on it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from gitward.console import Output

T = TypeVar("T")

app = typer.Typer(name="gitward", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="GitOps engine: converge hosts, files and services from a Git "
                       "repository, and record every action against its commit.")

Repo = Annotated[str, typer.Option("--repo", "-r", envvar="GITWARD_REPO",
                                   help="Repository: local path or Git URL.")]
Ref = Annotated[str | None, typer.Option("--ref", envvar="GITWARD_REF",
                                         help="Branch, tag or SHA (default branch if unset).")]
StoreUrl = Annotated[str | None, typer.Option("--store", envvar="GITWARD_STORE",
                                              help="Store URL (sqlite:///... or postgresql://...).")]
Roots = Annotated[list[str] | None, typer.Option(
    "--root", help="Put target NAME under PATH instead of its root in Git: NAME=PATH.")]
OutputMode = Annotated[str, typer.Option("--output", "-o", help="text or json.")]
StateDir = Annotated[Path | None, typer.Option("--state-dir", envvar="GITWARD_STATE_DIR",
                                               help="Mirrors, caches and locks.")]


def fail(out: Output, message: str, code: int = 1) -> NoReturn:
    out.error(message)
    raise typer.Exit(code)


@contextmanager
def guarded(out: Output) -> Iterator[None]:
    """Turn user-facing errors into one line and exit code 1."""
    from gitward.core.errors import GitwardError

    try:
        yield
    except GitwardError as error:
        fail(out, str(error))
    except KeyboardInterrupt:
        fail(out, "interrupted", 130)


def _roots(values: list[str] | None, out: Output) -> dict[str, str]:
    roots: dict[str, str] = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            fail(out, f"--root {value!r}: write NAME=PATH, e.g. --root local=/tmp/demo")
        roots[name] = os.path.abspath(os.path.expanduser(path))
    return roots


def workspace(repo: str, ref: str | None, store: str | None, roots: list[str] | None,
              state_dir: Path | None, out: Output) -> Any:
    from gitward.engine.workspace import Workspace, default_state_dir
    from gitward.stores import open_store

    return Workspace(repo=repo, ref=ref, store=open_store(store),
                     state_dir=state_dir or default_state_dir(),
                     root_overrides=_roots(roots, out))


def _check_output(mode: str) -> Output:
    if mode not in ("text", "json"):
        print(f"error: --output {mode!r}: choose text or json", file=sys.stderr)
        raise typer.Exit(1)
    return Output(mode)


def _choose_apps(ws: Any, names: list[str] | None, all_apps: bool, out: Output) -> list[str]:
    apps = ws.system().apps
    if names:
        for name in names:
            ws.app(name)
        return names
    if not all_apps and len(apps) > 1:
        fail(out, f"name the apps to act on or pass --all; apps: {', '.join(sorted(apps))}")
    return sorted(apps)


@app.command()
def init(directory: Annotated[Path, typer.Argument(help="Where to create the repository.")],
         root: Annotated[Path | None, typer.Option(
             "--root", help="Target root the sample apps converge into "
                            "(default: DIRECTORY-target beside it).")] = None,
         output: OutputMode = "text") -> None:
    """Create a sample GitOps repository (git init + first commit) with three apps."""
    out = _check_output(output)
    from gitward.sample import scaffold

    with guarded(out):
        target_root = (root or directory.parent / f"{directory.name}-target").absolute()
        revision = scaffold(directory, target_root)
    if out.json:
        out.emit_json({"repository": str(directory.absolute()), "revision": revision,
                       "target_root": str(target_root)})
    else:
        out.console.print(f"Created {directory} at {revision[:7]}; its apps converge into "
                          f"{target_root}.\nNext: gitward plan --repo {directory} --all")


@app.command()
def validate(repo: Repo = ".", ref: Ref = None, store: StoreUrl = None, root: Roots = None,
             state_dir: StateDir = None, output: OutputMode = "text") -> None:
    """Fetch, read the system map and render every app; apply nothing."""
    out = _check_output(output)
    from gitward.engine.render import render_apps

    with guarded(out):
        ws = workspace(repo, ref, store, root, state_dir, out)
        snap = ws.snapshot()
        system = ws.system()
        rendered = render_apps(snap, system, sorted(system.apps), ws.state_dir)
    counts = {name: len(resources) for name, resources in rendered.items()}
    if out.json:
        out.emit_json({"valid": True, "revision": snap.revision, "apps": counts})
    else:
        total = sum(counts.values())
        out.console.print(f"[green]valid[/]: {len(counts)} apps, {total} resources at "
                          f"{snap.revision[:7]} {snap.subject}")


@app.command()
def plan(apps: Annotated[list[str] | None, typer.Argument(help="Apps (default: all).")] = None,
         repo: Repo = ".", ref: Ref = None, store: StoreUrl = None, root: Roots = None,
         state_dir: StateDir = None, output: OutputMode = "text") -> None:
    """Show what a sync would change. Exit 0 in sync, 2 changes pending, 1 error."""
    out = _check_output(output)
    from gitward.engine.sync import app_order, sync_apps

    with guarded(out):
        ws = workspace(repo, ref, store, root, state_dir, out)
        names = _choose_apps(ws, apps, True, out)
        reports = sync_apps(ws, app_order(ws, names), dry_run=True)
    out.plan(reports)
    raise typer.Exit(0 if all(r.plan.in_sync for r in reports) else 2)


@app.command()
def sync(apps: Annotated[list[str] | None, typer.Argument(help="Apps to sync.")] = None,
         all_apps: Annotated[bool, typer.Option("--all", help="Sync every app.")] = False,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only.")] = False,
         repo: Repo = ".", ref: Ref = None, store: StoreUrl = None, root: Roots = None,
         state_dir: StateDir = None, output: OutputMode = "text") -> None:
    """Converge apps to the repository, in dependency order, and record the runs."""
    out = _check_output(output)
    from gitward.engine.sync import sync_apps

    with guarded(out):
        ws = workspace(repo, ref, store, root, state_dir, out)
        names = _choose_apps(ws, apps, all_apps, out)
        with _progress(out) as progress:
            reports = sync_apps(ws, names, dry_run=dry_run, progress=progress)
    if dry_run:
        out.plan(reports)
        raise typer.Exit(0 if all(r.plan.in_sync for r in reports) else 2)
    out.sync(reports)
    bad = any(r.held or r.outcome is None or r.outcome.value != "succeeded" for r in reports)
    raise typer.Exit(1 if bad else 0)


@contextmanager
def _progress(out: Output) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on a terminal; nothing for JSON or pipes."""
    if out.json or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bars: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out.err, transient=True) as progress:
        def advance(app_name: str, done: int, total: int) -> None:
            if app_name not in bars:
                bars[app_name] = progress.add_task(f"sync {app_name}", total=total)
            progress.update(bars[app_name], completed=done)
        yield advance


@app.command()
def status(repo: Repo = ".", ref: Ref = None, store: StoreUrl = None, root: Roots = None,
           state_dir: StateDir = None, output: OutputMode = "text") -> None:
    """Every app: revision, sync state (against live), health, last sync."""
    out = _check_output(output)
    from gitward.engine.status import app_status

    with guarded(out):
        ws = workspace(repo, ref, store, root, state_dir, out)
        rows = app_status(ws)
    out.status(rows)


@app.command()
def history(app_name: Annotated[str, typer.Argument(metavar="APP")],
            limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
            run: Annotated[int | None, typer.Option("--run", help="Show one run in full.")] = None,
            store: StoreUrl = None, output: OutputMode = "text",
            repo: Repo = ".") -> None:
    """Runs of an app: time, revision and subject, trigger, outcome, counts."""
    out = _check_output(output)
    from gitward.stores import open_store

    with guarded(out):
        db = open_store(store)
        if run is not None:
            found = db.run(run)
            if found is None or found.app != app_name:
                fail(out, f"no run {run} of app {app_name}; see `gitward history {app_name}`")
            out.run(found)
            return
        out.history(app_name, db.history(app_name, limit))


@app.command()
def rollback(app_name: Annotated[str, typer.Argument(metavar="APP")],
             to: Annotated[str | None, typer.Option(
                 "--to", help="Revision to restore (default: previous successful sync).")] = None,
             reason: Annotated[str | None, typer.Option("--reason")] = None,
             pin: Annotated[str | None, typer.Option(
                 "--pin", help="Do not write to Git: pin the app to REV in the store.")] = None,
             repo: Repo = ".", ref: Ref = None, store: StoreUrl = None, root: Roots = None,
             state_dir: StateDir = None, output: OutputMode = "text") -> None:
    """Go back through Git: commit the app's paths as they were, push, sync."""
    out = _check_output(output)
    from gitward.engine.rollback import pin_app, rollback_app

    with guarded(out):
        ws = workspace(repo, ref, store, root, state_dir, out)
        if pin:
            report = pin_app(ws, app_name, pin, reason)
            if out.json:
                from gitward.console import report_data

                out.emit_json({"pinned": report.revision, "sync": report_data(report)})
            else:
                out.console.print(f"[magenta]pinned[/] {app_name} to {report.revision[:7]}; "
                                  f"automatic syncs hold until `gitward unpin {app_name}`")
                out.sync([report])
            raise typer.Exit(0 if report.outcome and report.outcome.value == "succeeded" else 1)
        result = rollback_app(ws, app_name, to=to, reason=reason)
    if out.json:
        from gitward.console import report_data

        out.emit_json({"app": app_name, "from": result.from_revision, "to": result.to_revision,
                       "commit": result.commit, "branch": result.branch,
                       "sync": report_data(result.sync) if result.sync else None})
    else:
        if result.commit:
            out.console.print(f"rolled back {app_name} to {result.to_revision[:7]} with commit "
                              f"{result.commit[:7]} on {result.branch}")
        else:
            out.console.print(f"{app_name}: its paths already match {result.to_revision[:7]};"
                              " no commit needed")
        if result.sync:
            out.sync([result.sync])
    ok = result.sync is None or (result.sync.outcome is not None
                                 and result.sync.outcome.value == "succeeded")
    raise typer.Exit(0 if ok else 1)


@app.command()
def unpin(app_name: Annotated[str, typer.Argument(metavar="APP")], store: StoreUrl = None,
          output: OutputMode = "text") -> None:
    """Release a pin: the app follows its branch again on the next sync."""
    out = _check_output(output)
    from gitward.stores import open_store

    with guarded(out):
        db = open_store(store)
        was = db.app_state(app_name).pinned
        db.pin(app_name, None)
        if was:
            db.event(app_name, "unpinned", f"unpinned from {was[:12]}", revision=was)
    if out.json:
        out.emit_json({"app": app_name, "was_pinned": was})
    else:
        out.console.print(f"{app_name}: unpinned from {was[:7]}" if was
                          else f"{app_name} was not pinned")


@app.command()
def events(app_name: Annotated[str | None, typer.Argument(metavar="[APP]")] = None,
           follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
           limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
           store: StoreUrl = None, output: OutputMode = "text") -> None:
    """Decisions and actions recorded in the store, oldest first."""
    out = _check_output(output)
    from gitward.console import when
    from gitward.stores import open_store

    with guarded(out):
        db = open_store(store)
        found = db.events(app_name, 0, 1_000_000)[-limit:]
        last = 0
        while True:
            for event in found:
                last = max(last, event["id"])
                if out.json:
                    print(__import__("json").dumps(event, default=str), flush=True)
                else:
                    out.console.print(f"{when(event['at'])} [bold]{event['app'] or '-'}[/] "
                                      f"[cyan]{event['kind']}[/] {event['message']}")
            if not follow:
                break
            time.sleep(1.0)
            found = db.events(app_name, last, 1000)


@app.command()
def schema(kind: Annotated[str | None, typer.Argument(help="One kind (default: all).")] = None
           ) -> None:
    """Print the JSON Schema of every manifest kind, for editors."""
    out = Output("json")
    from gitward.schema import manifest_schema

    with guarded(out):
        out.emit_json(manifest_schema(kind))


@app.command()
def version() -> None:
    """Print gitward's version."""
    from gitward import __version__

    print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
