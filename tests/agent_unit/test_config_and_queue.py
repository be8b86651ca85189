"""The agent's bootstrap configuration and its one-operation-per-app queue."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gitward.agent.config import ConfigError, load_config
from gitward.agent.queue import AppQueue, Operation


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    file = tmp_path / "agent.toml"
    file.write_text('repo = "/from/file"\nlisten = "127.0.0.1:9000"\npoll_interval = "5m"\n'
                    '[roots]\nlocal = "/srv"\n[[notifications]]\nurl = "http://127.0.0.1:1/x"\n')
    config = load_config({"listen": "127.0.0.1:9100", "ref": None},
                         {"GITWARD_REPO": "/from/env", "GITWARD_LISTEN": "127.0.0.1:9001"},
                         file)
    assert config.repo == "/from/env"
    assert config.listen == "127.0.0.1:9100"
    assert config.poll_interval == 300.0
    assert config.roots == {"local": "/srv"}
    assert config.notifications[0]["url"] == "http://127.0.0.1:1/x"


@pytest.mark.parametrize(("flags", "message"), [
    ({}, "no repository"),
    ({"repo": "/r", "listen": "nowhere"}, "HOST:PORT"),
    ({"repo": "/r", "poll_interval": "soon"}, "poll_interval"),
    ({"repo": "/r", "colour": "red"}, "colour"),
])
def test_bad_configuration_is_one_clear_error(flags: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(flags, {}, None)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "agent.toml"
    file.write_text("repo = \n")
    with pytest.raises(ConfigError, match=r"agent\.toml"):
        load_config({}, {}, file)


def test_queue_runs_one_operation_per_app_and_coalesces() -> None:
    running: dict[str, int] = {}
    most = {"web": 0, "db": 0}
    done: list[tuple[str, Operation]] = []
    gate = threading.Event()
    lock = threading.Lock()

    def run(app: str, op: Operation) -> None:
        with lock:
            running[app] = running.get(app, 0) + 1
            most[app] = max(most[app], running[app])
        gate.wait(5)
        time.sleep(0.05)
        with lock:
            running[app] -= 1
            done.append((app, op))

    queue = AppQueue(run, workers=4)
    assert queue.submit("web", Operation("drift", "interval"))
    for trigger in ("webhook", "manual", "auto"):
        queue.submit("web", Operation("sync", trigger))
    queue.submit("web", Operation("drift", "interval"))
    queue.submit("db", Operation("sync", "auto"))
    gate.set()
    deadline = time.monotonic() + 5
    while not queue.idle() and time.monotonic() < deadline:
        time.sleep(0.02)
    queue.close()
    web = [op for app, op in done if app == "web"]
    assert web == [Operation("drift", "interval"), Operation("sync", "webhook")]
    assert most == {"web": 1, "db": 1}
    assert ("db", Operation("sync", "auto")) in done
