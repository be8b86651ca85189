"""What every gitward command shares: its options, the one-line error
handling, and opening a workspace. Kept apart so each command module reads
as the commands alone."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from gitward.console import Output

__all__ = ["choose_apps", "fail", "guarded", "output_option", "parse_roots", "repo_options",
           "store_option", "text_or_json", "workspace"]

_F = Callable[..., Any]


class _Failed(click.exceptions.Exit):
    """Raised after the error line is printed; carries the exit code."""


def fail(out: Output, message: str, code: int = 1) -> NoReturn:
    out.error(message)
    raise _Failed(code)


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


def text_or_json(mode: str) -> Output:
    return Output(mode)


def output_option(fn: _F) -> _F:
    return click.option("--output", "-o", "output", type=click.Choice(["text", "json"]),
                        default="text", show_default=True,
                        help="Text for people, JSON for scripts.")(fn)


def store_option(fn: _F) -> _F:
    return click.option("--store", envvar="GITWARD_STORE", default=None, metavar="URL",
                        help="Store URL: sqlite:///path.db (default under "
                             "~/.local/state/gitward) or postgresql://...")(fn)


def repo_options(fn: _F) -> _F:
    """--repo, --ref, --store, --root, --state-dir and --output."""
    options: list[Callable[[_F], _F]] = [
        click.option("--repo", "-r", envvar="GITWARD_REPO", default=".", show_default=True,
                     help="Repository: a local path or a Git URL (file://, https://, ssh://)."),
        click.option("--ref", envvar="GITWARD_REF", default=None,
                     help="Branch, tag or SHA (default: the repository's default branch)."),
        store_option,
        click.option("--root", "roots", multiple=True, metavar="NAME=PATH",
                     help="Put target NAME under PATH instead of its root in Git."),
        click.option("--state-dir", envvar="GITWARD_STATE_DIR", default=None,
                     type=click.Path(path_type=Path), help="Mirrors, caches and locks."),
        output_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def parse_roots(values: tuple[str, ...], out: Output) -> dict[str, str]:
    roots: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            fail(out, f"--root {value!r}: write NAME=PATH, e.g. --root local=/tmp/demo")
        roots[name] = os.path.abspath(os.path.expanduser(path))
    return roots


def workspace(out: Output, repo: str, ref: str | None, store: str | None,
              roots: tuple[str, ...], state_dir: Path | None, *, seal: bool = False,
              fetch_ahead: bool = False) -> Any:
    """The command's workspace; with `fetch_ahead`, the source is fetched while the
    store opens (for commands that always need the head)."""
    from gitward.engine.workspace import FetchAhead, Workspace, default_state_dir
    from gitward.stores import open_store

    # A one-shot command keeps what it allocates (resources, documents) to its end
    # and makes little cyclic garbage; at the default thresholds the collector scans
    # all of it again and again (~20 ms of a one-file sync of 1,000 files).
    gc.set_threshold(20_000, 50, 100)
    overrides = parse_roots(roots, out)
    state = state_dir or default_state_dir()
    ahead = None
    if fetch_ahead:
        from gitward.sources.git import GitSource

        ahead = FetchAhead(GitSource(repo, state, objects="git"), ref)
    try:
        opened = open_store(store)
    except BaseException:
        if ahead is not None:
            ahead.wait()
        raise
    ws = Workspace(repo=repo, ref=ref, store=opened, state_dir=state, root_overrides=overrides,
                   seal=seal, objects="git", ahead=ahead)
    click.get_current_context().call_on_close(ws.close)
    return ws


def choose_apps(ws: Any, names: tuple[str, ...], all_apps: bool, out: Output) -> list[str]:
    apps = ws.system().apps
    if names:
        for name in names:
            ws.app(name)
        return list(names)
    if not all_apps and len(apps) > 1:
        fail(out, f"name the apps to act on or pass --all; apps: {', '.join(sorted(apps))}")
    return sorted(apps)
