"""The agent as a real process against a real bare repository."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Env, env  # noqa: F401 - the fixture is used by name

SECRET = "s3cret-hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (httpx.HTTPError, OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@dataclass
class AgentProcess:
    env: Env
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, poll: str = "1s") -> AgentProcess:
        if not self.token:
            from gitward.server.admin import token_create

            self.token = token_create(self.env.store, "e2e", "admin")["token"]
        self.log_path = self.env.tmp / f"agent-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "gitward.cli", "agent", "--repo", str(self.env.origin),
                "--store", self.env.store, "--state-dir", str(self.env.state),
                "--root", f"local={self.env.target}", "--listen", f"127.0.0.1:{self.port}",
                "--poll-interval", poll, "--webhook-secret", SECRET,
                "--log-format", "json", *extra]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=self.env.tmp, stdout=log, stderr=log,
                                         start_new_session=True)
        wait_for(lambda: httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200,
                 what=f"agent ready (log: {self.log})")
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def apps(self) -> dict[str, dict[str, Any]]:
        data = self.api("/api/v1/apps").json()
        return {a["app"]: a for a in data["apps"]}

    def api(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=5,
                         headers={"Authorization": f"Bearer {self.token}"})

    def hook(self, provider: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/hooks/{provider}", content=body, headers=headers,
                          timeout=10)

    def signed_push(self, delivery: str) -> httpx.Response:
        body = json.dumps({"ref": "refs/heads/main",
                           "repository": {"clone_url": str(self.env.origin)}}).encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.hook("github", body, {"X-GitHub-Event": "push",
                                          "X-GitHub-Delivery": delivery,
                                          "X-Hub-Signature-256": f"sha256={digest}",
                                          "Content-Type": "application/json"})

    def events(self, app: str | None = None) -> list[dict[str, Any]]:
        from gitward.stores import open_store

        store = open_store(self.env.store)
        try:
            return store.events(app, 0, 100_000)
        finally:
            store.close()

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            # SIGTERM goes to the agent alone (as a service manager sends it); its
            # commands run in their own sessions. SIGKILL takes the whole group.
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, sig)
            else:
                os.kill(self.proc.pid, sig)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def agent(env: Env) -> Iterator[AgentProcess]:  # noqa: F811 - env comes from e2e
    handle = AgentProcess(env)
    yield handle
    if handle.alive():
        handle.terminate(signal.SIGKILL)
