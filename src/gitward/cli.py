"""gitward's command line: thin, each command one engine or store call.

Every command takes ``--repo`` (a local path or a Git URL), ``--ref``,
``--store`` and ``--output json``; a user mistake prints one line naming the
file, field or resource and exits 1; ``plan`` exits 2 when changes are
pending, so scripts can gate on it.

Built on click, with every heavy import (store, Git, rendering, Rich) inside
the command that needs it: a one-shot ``gitward sync`` pays for start-up on
every run, and start-up is most of a no-op sync.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gitward.cli_accounts import token, user
from gitward.cli_exit import leave
from gitward.cli_options import (
    choose_apps,
    fail,
    guarded,
    output_option,
    parse_roots,
    repo_options,
    store_option,
    text_or_json,
    workspace,
)
from gitward.console import Output

__all__ = ["app", "main"]

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitward", message="%(version)s")
def app() -> None:
    """GitOps engine: converge hosts, files and services from a Git repository,
    and record every action against the commit that asked for it."""


@app.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Target root the sample apps converge into (default: DIRECTORY-target).")
@output_option
def init(directory: Path, root: Path | None, output: str) -> None:
    """Create a sample GitOps repository (git init + first commit) with three apps."""
    out = text_or_json(output)
    from gitward.sample import scaffold

    with guarded(out):
        target_root = (root or directory.parent / f"{directory.name}-target").absolute()
        revision = scaffold(directory, target_root)
    if out.json:
        out.emit_json({"repository": str(directory.absolute()), "revision": revision,
                       "target_root": str(target_root)})
    else:
        out.console.print(f"Created {directory} at {revision[:7]}; its apps converge into "
                          f"{target_root}.\nNext: gitward plan --repo {directory}")


@app.command()
@repo_options
def validate(repo: str, ref: str | None, store: str | None, roots: tuple[str, ...],
             state_dir: Path | None, output: str) -> None:
    """Fetch, read the system map and render every app; apply nothing."""
    out = text_or_json(output)
    from gitward.engine.render import render_apps

    with guarded(out):
        ws = workspace(out, repo, ref, store, roots, state_dir)
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
@click.argument("apps", nargs=-1)
@repo_options
def plan(apps: tuple[str, ...], repo: str, ref: str | None, store: str | None,
         roots: tuple[str, ...], state_dir: Path | None, output: str) -> None:
    """Show what a sync would change (default: every app).

    Exit status: 0 in sync, 2 changes pending, 1 error."""
    out = text_or_json(output)
    from gitward.engine.sync import sync_apps

    with guarded(out):
        ws = workspace(out, repo, ref, store, roots, state_dir)
        names = choose_apps(ws, apps, True, out)
        reports = sync_apps(ws, names, dry_run=True)
    out.plan(reports)
    raise click.exceptions.Exit(0 if all(r.plan.in_sync for r in reports) else 2)


@app.command()
@click.argument("apps", nargs=-1)
@click.option("--all", "all_apps", is_flag=True, help="Sync every app.")
@click.option("--dry-run", is_flag=True, help="Plan only; apply and record nothing.")
@click.option("--wait", default=300.0, show_default=True, metavar="SECONDS",
              help="How long to wait while the agent (or another sync) works on an app.")
@repo_options
def sync(apps: tuple[str, ...], all_apps: bool, dry_run: bool, wait: float, repo: str,
         ref: str | None, store: str | None, roots: tuple[str, ...], state_dir: Path | None,
         output: str) -> None:
    """Converge apps to the repository, in dependency order, and record the runs."""
    out = text_or_json(output)
    with guarded(out):
        ws = workspace(out, repo, ref, store, roots, state_dir, seal=not dry_run,
                       fetch_ahead=True)
        ws.prepare_while_fetching()
        from gitward.engine.seal import sealed_sync

        # Nothing new since the last sync: recorded from the seal, nothing loaded.
        reports = None if dry_run else sealed_sync(ws, apps, all_apps, wait=wait)
        if reports is None:
            from gitward.engine.sync import sync_apps

            names = choose_apps(ws, apps, all_apps, out)
            with _progress(out) as progress:
                reports = sync_apps(ws, names, dry_run=dry_run, progress=progress, wait=wait)
    if dry_run:
        out.plan(reports)
        raise click.exceptions.Exit(0 if all(r.plan.in_sync for r in reports) else 2)
    out.sync(reports)
    bad = any(r.held or r.outcome is None or r.outcome.value != "succeeded" for r in reports)
    raise click.exceptions.Exit(1 if bad else 0)


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
@repo_options
def status(repo: str, ref: str | None, store: str | None, roots: tuple[str, ...],
           state_dir: Path | None, output: str) -> None:
    """Every app: revision, sync state (against live), health, last sync."""
    out = text_or_json(output)
    from gitward.engine.status import app_status

    with guarded(out):
        ws = workspace(out, repo, ref, store, roots, state_dir)
        rows = app_status(ws)
    out.status(rows)


@app.command()
@click.argument("app_name", metavar="APP")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs.")
@click.option("--run", "run_id", type=int, default=None, help="Show one run in full.")
@store_option
@output_option
def history(app_name: str, limit: int, run_id: int | None, store: str | None,
            output: str) -> None:
    """Runs of an app: time, revision and subject, trigger, outcome, counts."""
    out = text_or_json(output)
    from gitward.stores import open_store

    with guarded(out):
        db = open_store(store)
        if run_id is not None:
            found = db.run(run_id)
            if found is None or found.app != app_name:
                fail(out, f"no run {run_id} of app {app_name}; see `gitward history {app_name}`")
            out.run(found)
            return
        out.history(app_name, db.history(app_name, limit))


@app.command()
@click.argument("app_name", metavar="APP")
@click.option("--to", default=None, metavar="REV",
              help="Revision to restore (default: the previous successful sync).")
@click.option("--reason", default=None, help="Why; goes into the commit message.")
@click.option("--pin", default=None, metavar="REV",
              help="Do not write to Git: pin the app to REV in the store and sync it there.")
@repo_options
def rollback(app_name: str, to: str | None, reason: str | None, pin: str | None, repo: str,
             ref: str | None, store: str | None, roots: tuple[str, ...],
             state_dir: Path | None, output: str) -> None:
    """Go back through Git: commit the app's paths as they were, push, sync."""
    out = text_or_json(output)
    from gitward.console import report_data
    from gitward.engine.rollback import pin_app, rollback_app

    with guarded(out):
        ws = workspace(out, repo, ref, store, roots, state_dir)
        if pin:
            report = pin_app(ws, app_name, pin, reason)
            if out.json:
                out.emit_json({"app": app_name, "pinned": report.revision,
                               "sync": report_data(report)})
            else:
                out.console.print(f"[magenta]pinned[/] {app_name} to {report.revision[:7]}; "
                                  f"syncs stay there until `gitward unpin {app_name}`")
                out.sync([report])
            ok = report.outcome is not None and report.outcome.value == "succeeded"
            raise click.exceptions.Exit(0 if ok else 1)
        result = rollback_app(ws, app_name, to=to, reason=reason)
    if out.json:
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
    raise click.exceptions.Exit(0 if ok else 1)


@app.command()
@click.argument("app_name", metavar="APP")
@store_option
@output_option
def unpin(app_name: str, store: str | None, output: str) -> None:
    """Release a pin: the app follows its branch again on the next sync."""
    out = text_or_json(output)
    from gitward.engine.rollback import unpin_app
    from gitward.stores import open_store

    with guarded(out):
        was = unpin_app(open_store(store), app_name)
    if out.json:
        out.emit_json({"app": app_name, "was_pinned": was})
    else:
        out.console.print(f"{app_name}: unpinned from {was[:7]}" if was
                          else f"{app_name} was not pinned")


@app.command()
@click.argument("app_name", metavar="[APP]", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@click.option("--limit", "-n", default=50, show_default=True)
@store_option
@output_option
def events(app_name: str | None, follow: bool, limit: int, store: str | None,
           output: str) -> None:
    """Decisions and actions recorded in the store, oldest first."""
    out = text_or_json(output)
    from rich.markup import escape

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
                    print(json.dumps(event, default=str), flush=True)
                else:
                    out.console.print(f"{when(event['at'])} [bold]{escape(event['app'] or '-')}"
                                      f"[/] [cyan]{event['kind']}[/] {escape(event['message'])}")
            if not follow:
                break
            time.sleep(1.0)
            found = db.events(app_name, last, 1000)


@app.command()
@click.option("--repo", "-r", default=None, help="Repository URL or path [env GITWARD_REPO].")
@click.option("--ref", default=None, help="Branch, tag or SHA [env GITWARD_REF].")
@click.option("--store", default=None, metavar="URL", help="Store URL [env GITWARD_STORE].")
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Health, metrics and webhooks (default 127.0.0.1:8080).")
@click.option("--root", "roots", multiple=True, metavar="NAME=PATH",
              help="Put target NAME under PATH instead of its root in Git.")
@click.option("--state-dir", default=None, type=click.Path(path_type=Path))
@click.option("--poll-interval", default=None, help="How often to fetch, e.g. 60s.")
@click.option("--webhook-secret", default=None, help="[env GITWARD_WEBHOOK_SECRET]")
@click.option("--notify", "notify_urls", multiple=True, metavar="URL",
              help="POST notifications here (JSON); repeat for more.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None)
@click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True,
                                                          dir_okay=False), default=None,
              help="TOML file with the same settings [env GITWARD_CONFIG].",
              envvar="GITWARD_CONFIG")
def agent(repo: str | None, ref: str | None, store: str | None, listen: str | None,
          roots: tuple[str, ...], state_dir: Path | None, poll_interval: str | None,
          webhook_secret: str | None, notify_urls: tuple[str, ...], log_format: str | None,
          config_file: Path | None) -> None:
    """Run the agent: keep every app converged, detect drift, serve webhooks."""
    out = text_or_json("text")
    from gitward.agent.config import load_config
    from gitward.agent.process import run_agent

    with guarded(out):
        flags = {"repo": repo, "ref": ref, "store": store, "listen": listen,
                 "roots": parse_roots(roots, out), "state_dir": state_dir,
                 "poll_interval": poll_interval, "webhook_secret": webhook_secret,
                 "log_format": log_format,
                 "notifications": [{"url": u, "format": "json"} for u in notify_urls]}
        config = load_config(flags, os.environ, config_file)
        code = run_agent(config)
    raise click.exceptions.Exit(code)


@app.command()
@click.option("--dry-run", is_flag=True,
              help="Show proposed bumps (policy, file:line, old, new, source); commit nothing.")
@click.option("--repo", "-r", envvar="GITWARD_REPO", default=".", show_default=True,
              help="Repository: a local path or a Git URL.")
@click.option("--ref", envvar="GITWARD_REF", default=None,
              help="Branch to update (default: the origin's default branch).")
@store_option
@click.option("--state-dir", envvar="GITWARD_STATE_DIR", default=None,
              type=click.Path(path_type=Path))
@output_option
def update(dry_run: bool, repo: str, ref: str | None, store: str | None,
           state_dir: Path | None, output: str) -> None:
    """Keep marked versions current: show the bumps, or commit and push them."""
    from gitward.updates.cli import update_command

    update_command(repo, ref, store, state_dir, dry_run, output)


@app.command()
@click.argument("kind", required=False)
def schema(kind: str | None) -> None:
    """Print the JSON Schema of every manifest kind (or one), for editors."""
    out = Output("json")
    from gitward.schema import manifest_schema

    with guarded(out):
        out.emit_json(manifest_schema(kind))


app.add_command(user)
app.add_command(token)


def main() -> None:
    """The console script. A command that ran to its end leaves without the
    interpreter's teardown (see `gitward.cli_exit`). Validators it builds are
    kept in the user's cache for the next command (`engine.validator_cache`)."""
    from gitward.engine.validator_cache import use_default_cache

    use_default_cache()
    try:
        app()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            leave(done.code or 0)
        raise


if __name__ == "__main__":
    main()
