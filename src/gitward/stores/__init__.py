"""gitward's memory: the store.

Everything that happens downstream of a plan is recorded here, and nothing
upstream reads from anywhere else: the engine asks the store for an app's
inventory (what it applied before, so it knows what to prune), journals a run
*before* its first action (`begin`), appends each result as it lands — which
updates the inventory in the same transaction — and closes the run
(`finish`). A process that dies mid-run leaves a run marked ``running``; the
next process to take the app's lock turns it into ``interrupted``
(`interrupt_running`) and simply plans again. Besides runs the store keeps
backups of what gitward first took over, an event log that readers poll by
id, and per-app state: pins and the last synced revision and tree.

Stores are chosen by URL:

- ``sqlite:////var/lib/gitward/gitward.db`` — the default (one agent):
  ``$GITWARD_STORE``, else ``$XDG_STATE_HOME/gitward/gitward.db``;
- ``postgresql://user@host/db`` — shared by many agents (psycopg 3);
- ``memory://`` — a fake with the same behaviour, for unit tests.

>>> store = open_store("memory://")
>>> store.apps()
[]

Both real stores are `gitward.stores.sql.SqlStore`, one set of SQL
statements: SQLite through the standard library's sqlite3 module (so a
command on an up-to-date default store does not import SQLAlchemy),
PostgreSQL through SQLAlchemy; schema migrations by Alembic, imported only
when a migration is due. Other schemes come from the ``gitward.stores`` entry
points, called with the URL.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from gitward.core.errors import StoreError
from gitward.xdg import base_dir

if TYPE_CHECKING:
    from gitward.core.seams import Store

__all__ = ["default_store_url", "open_store", "redact_url"]

_SQL_SCHEMES = frozenset({"sqlite", "postgresql", "postgres"})


def default_store_url() -> str:
    """``$GITWARD_STORE``, else a SQLite file under the XDG state directory
    (created if missing)."""
    configured = os.environ.get("GITWARD_STORE")
    if configured:
        return configured
    directory = base_dir("XDG_STATE_HOME", ".local/state") / "gitward"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the store directory {directory}: {exc.strerror}; "
                         "set GITWARD_STORE to a writable location") from exc
    return f"sqlite:///{directory / 'gitward.db'}"


def open_store(url: str | None = None) -> Store:
    """Open (and migrate if needed) the store at `url`, default `default_store_url()`.

    Raises `StoreError` for a URL that is not a store or a store that cannot be
    reached; its message shows the URL without its password.
    """
    url = url or default_store_url()
    scheme = url.partition("://")[0].partition("+")[0].lower()
    if scheme == "memory":
        from gitward.stores.memory import MemoryStore

        return MemoryStore(url)
    if scheme in _SQL_SCHEMES:
        from gitward.stores.sql import SqlStore

        return SqlStore(url)
    return _store_from_entry_point(scheme, url)


def _store_from_entry_point(scheme: str, url: str) -> Store:
    from importlib.metadata import entry_points

    found = entry_points(group="gitward.stores", name=scheme) if scheme else ()
    if not found:
        raise StoreError(f"{redact_url(url)} is not a store URL; use sqlite:///path/to/gitward.db,"
                         " postgresql://user@host/database or memory://")
    factory = next(iter(found)).load()
    store: Store = factory(url)
    return store


_PASSWORD_IN_NETLOC = re.compile(r"(://[^/?#@:]*:)[^/?#]*@")
_PASSWORD_IN_QUERY = re.compile(r"((?:^|[?&;\s])password=)[^&;\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` with any password replaced by ``***``, fit for messages and logs.

    >>> redact_url("postgresql://gw:s3cret@db/gitward?password=x")
    'postgresql://gw:***@db/gitward?password=***'
    """
    url = _PASSWORD_IN_NETLOC.sub(r"\1***@", url)
    return _PASSWORD_IN_QUERY.sub(r"\1***", url)
