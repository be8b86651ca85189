"""A real server on a free port, over a SQLite store with one principal of each kind.

The store (users and tokens) is built once per session and copied for each
test, so each test starts from the same accounts at little cost: scrypt is
slow on purpose.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gitward.agent.http import create_router
from gitward.agent.metrics import AgentMetrics
from gitward.server import admin
from gitward.server.app import create_server
from gitward.server.context import ServerContext
from gitward.stores.sql import SqlStore
from tests.agent.test_http import running

from .fakes import FakeAgent

PASSWORD = "correct horse battery"
SECRET_KEY = b"0123456789abcdef0123456789abcdef"
WEBHOOK_SECRET = "webhook secret"


@dataclass
class Accounts:
    path: Path
    tokens: dict[str, str]    # principal -> token
    token_ids: dict[str, int]


@pytest.fixture(scope="session")
def accounts_template(tmp_path_factory: pytest.TempPathFactory) -> Accounts:
    path = tmp_path_factory.mktemp("accounts") / "gitward.db"
    url = f"sqlite:///{path}"
    admin.user_add(url, "ada", "admin", "*", PASSWORD)
    admin.user_add(url, "otto", "operator", "*", PASSWORD)
    admin.user_add(url, "vera", "viewer", "*", PASSWORD)
    admin.user_add(url, "sam", "operator", "web,web-*", PASSWORD)
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for who, role, apps, expires in [("admin", "admin", "*", "1d"),
                                     ("operator", "operator", "*", "1d"),
                                     ("viewer", "viewer", "*", None),
                                     ("scoped", "admin", "db", "1d"),
                                     ("expired", "admin", "*", "1d"),
                                     ("revoked", "admin", "*", "1d")]:
        created = admin.token_create(url, who, role, apps, expires=expires)
        tokens[who], ids[who] = created["token"], created["id"]
    admin.token_revoke(url, ids["revoked"])
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # no past expiry can be asked for
        db.execute("UPDATE api_tokens SET expires_at = 1 WHERE id = ?", (ids["expired"],))
    return Accounts(path, tokens, ids)




@dataclass
class Served:
    url: str
    store: SqlStore
    store_url: str
    db_path: Path
    agent: FakeAgent
    tokens: dict[str, str]
    token_ids: dict[str, int]

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def audits(self) -> list[dict[str, object]]:
        """Audit events since the accounts were made (those are the CLI's)."""
        return [e for e in self.store.events(limit=1000)
                if e["kind"] == "audit" and e["data"]["via"] != "cli"]


@pytest.fixture
def served(accounts_template: Accounts, tmp_path: Path) -> Iterator[Served]:
    path = tmp_path / "gitward.db"
    shutil.copyfile(accounts_template.path, path)
    url = f"sqlite:///{path}"
    store = SqlStore(url)
    agent = FakeAgent(store)
    ctx = ServerContext(store=store, agent=agent, secret_key=SECRET_KEY)
    routes = create_router(agent, AgentMetrics(), webhook_secret=WEBHOOK_SECRET)
    try:
        with running(create_server(ctx, routes)) as base:
            yield Served(base, store, url, path, agent, accounts_template.tokens,
                         accounts_template.token_ids)
    finally:
        store.close()


@contextmanager
def logged_in(served: Served, user: str, password: str = PASSWORD
              ) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding `user`'s session cookie, and the session's CSRF token."""
    with httpx.Client(base_url=served.url, timeout=10) as client:
        answer = client.post("/api/v1/login", json={"username": user, "password": password})
        assert answer.status_code == 200, answer.text
        yield client, answer.json()["csrf_token"]
