"""A real uvicorn server on a free local port, serving the whole app over a FakeAgent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from gitward.server.app import create_server
from gitward.server.context import ServerContext
from gitward.stores.memory import MemoryStore
from tests.ui.fakes import PASSWORDS, FakeAgent, make_store


@dataclass
class LiveServer:
    url: str
    agent: FakeAgent
    store: MemoryStore

    @contextmanager
    def client(self, user: str | None = None) -> Iterator[httpx.Client]:
        """An httpx client, logged in as `user` (admin, operator, viewer) if given."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=10) as client:
            if user is not None:
                answer = client.post("/login", data={
                    "username": user, "password": PASSWORDS[user], "next": "/"})
                assert answer.status_code == 303 and answer.headers["location"] == "/", \
                    answer.text
            yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[LiveServer]:
    store = make_store()
    agent = FakeAgent(store)
    app = create_server(ServerContext(store, agent, secret_key=b"ui-tests-secret-key-0123456789"))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", ws="none", access_log=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", agent, store)
    finally:
        running.should_exit = True
        thread.join(5)
