"""`gitward agent`: wire the loop, the HTTP surface, signals and logs together.

SIGTERM (or Ctrl-C) asks the loop to stop: the change in hand finishes, the
rest of its run is recorded as skipped, the run ends `interrupted`, and the
process exits 0. SIGKILL leaves the run `running` in the store; the next
start marks it `interrupted` and converges again.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from gitward.agent.config import AgentConfig, ConfigError
from gitward.agent.logs import configure_logging
from gitward.agent.runner import Agent

__all__ = ["run_agent"]

log = logging.getLogger("gitward.agent")


def run_agent(config: AgentConfig) -> int:
    from gitward.agent.actions import WebActions
    from gitward.agent.http import create_router, serve
    from gitward.agent.metrics import AgentMetrics
    from gitward.agent.notify import Notifier, NotifyTarget
    from gitward.engine.workspace import default_state_dir
    from gitward.server.app import create_server
    from gitward.server.context import ServerContext
    from gitward.stores import open_store

    configure_logging(config.log_format)
    state_dir = config.state_dir or default_state_dir()
    store = open_store(config.store)
    metrics = AgentMetrics()
    notifier = Notifier([NotifyTarget.model_validate(n) for n in config.notifications])
    agent = Agent(config, store, state_dir, metrics, notifier)
    context = ServerContext(store=store, agent=WebActions(agent),
                            secret_key=_secret_key(state_dir))
    routes = create_router(agent, metrics, webhook_secret=config.webhook_secret,
                           max_body=config.max_body)
    server = serve(create_server(context, routes), config.listen)
    web = threading.Thread(target=server.run, name="gitward-http", daemon=True)
    web.start()
    _wait_until_listening(server, web, config.listen)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the action in hand, then exiting",
                 signal.Signals(signum).name)
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("agent started for %s, listening on %s", config.repo, config.listen)
    try:
        agent.run()
    finally:
        server.should_exit = True
        web.join(timeout=5)
        notifier.close(2.0)
        store.close()
    log.info("agent stopped")
    return 0


def _secret_key(state_dir: Path) -> bytes:
    """The key that signs session cookies and CSRF tokens: ``GITWARD_SECRET_KEY``,
    else a random one kept (mode 0600) in the state directory, so sessions
    survive a restart."""
    explicit = os.environ.get("GITWARD_SECRET_KEY")
    if explicit:
        return explicit.encode()
    path = state_dir / "secret.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        state_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key


def _wait_until_listening(server: object, web: threading.Thread, listen: str) -> None:
    deadline = time.monotonic() + 10
    while not getattr(server, "started", False):
        if not web.is_alive() or time.monotonic() > deadline:
            raise ConfigError(f"cannot listen on {listen}: the address is in use or not "
                              "local; choose another with --listen HOST:PORT")
        time.sleep(0.02)
