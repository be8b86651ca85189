"""`gitward user` and `gitward token`: accounts for the web UI and the API.

Thin like every command: each calls one function of `gitward.server.admin`,
which the REST API shares.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from gitward.cli_options import guarded, output_option, store_option, text_or_json
from gitward.console import Output

__all__ = ["token", "user"]


@click.group()
def user() -> None:
    """Local users of the web UI and API (roles: viewer, operator, admin)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
@click.option("--apps", default="*", show_default=True,
              help="Comma-separated app name patterns this user may see and act on.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@store_option
@output_option
def user_add(name: str, role: str, apps: str, password_stdin: bool, store: str | None,
             output: str) -> None:
    """Add a user; asks for the password twice unless --password-stdin."""
    out = text_or_json(output)
    from gitward.server.admin import user_add as add
    from gitward.stores import default_store_url

    password = (sys.stdin.readline().rstrip("\n") if password_stdin else
                click.prompt("Password", hide_input=True, confirmation_prompt=True))
    with guarded(out):
        made = add(store or default_store_url(), name, role, apps, password)
    _print_record(out, made, f"added {role} {name}")


@user.command("list")
@store_option
@output_option
def user_list(store: str | None, output: str) -> None:
    """List users (never their passwords)."""
    out = text_or_json(output)
    from gitward.server.admin import user_list as listed
    from gitward.stores import default_store_url

    with guarded(out):
        rows = listed(store or default_store_url())
    _print_rows(out, rows, ("name", "role", "apps", "disabled"))


@click.group()
def token() -> None:
    """API tokens for scripts: shown once, stored hashed, revocable, with expiry."""


@token.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. ci.")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
@click.option("--apps", default="*", show_default=True, help="App name patterns.")
@click.option("--user", "owner", default=None, help="Tie the token to a user.")
@click.option("--expires", default="90d", show_default=True, help="e.g. 30d, 12h or never.")
@store_option
@output_option
def token_create(name: str, role: str, apps: str, owner: str | None, expires: str,
                 store: str | None, output: str) -> None:
    """Create a token and print it once."""
    out = text_or_json(output)
    from gitward.server.admin import token_create as create
    from gitward.stores import default_store_url

    with guarded(out):
        made = create(store or default_store_url(), name, role, apps, owner, expires)
    if out.json:
        out.emit_json(made)
    else:
        print(made["token"])
        out.note("This token is shown once; store it now. "
                 f"Revoke it with `gitward token revoke {made['id']}`.")


@token.command("list")
@store_option
@output_option
def token_list(store: str | None, output: str) -> None:
    """List tokens (never the tokens themselves)."""
    out = text_or_json(output)
    from gitward.server.admin import token_list as listed
    from gitward.stores import default_store_url

    with guarded(out):
        rows = listed(store or default_store_url())
    _print_rows(out, rows, ("id", "name", "role", "apps", "user", "state"))


@token.command("revoke")
@click.argument("token_id", type=int, metavar="ID")
@store_option
@output_option
def token_revoke(token_id: int, store: str | None, output: str) -> None:
    """Revoke a token at once."""
    out = text_or_json(output)
    from gitward.server.admin import token_revoke as revoke
    from gitward.stores import default_store_url

    with guarded(out):
        revoke(store or default_store_url(), token_id)
    _print_record(out, {"id": token_id, "revoked": True}, f"revoked token {token_id}")


def _print_record(out: Output, record: dict[str, Any], message: str) -> None:
    if out.json:
        out.emit_json(record)
    else:
        out.console.print(message)


def _print_rows(out: Output, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if out.json:
        out.emit_json(rows)
        return
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    out.console.print(table)
