"""The Command kind with real shell commands: guards, run-once, failures,
health checks and undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.core.model import Action, Health, Resource
from gitward.providers.command import CommandFailedError, CommandProvider
from gitward.providers.connection import CommandTimeoutError, LocalConnection
from tests.providers.builders import a_command

COUNT = "echo ran >> runs.log"  # every run adds a line to root/runs.log


@pytest.fixture
def commands(conn: LocalConnection) -> CommandProvider:
    return CommandProvider(conn)


def runs(root: Path) -> int:
    log = root / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def sync(commands: CommandProvider, res: Resource, recorded: Resource | None = None
         ) -> tuple[Action, Resource | None]:
    """One pass of the engine for one command: read, diff, apply if needed."""
    live = commands.read([res], {res.key: recorded} if recorded else None).get(res.key)
    change = commands.diff(res, live)
    if change.action is Action.noop:
        return change.action, recorded
    return change.action, commands.apply(change)


def test_creates_guard_skips_once_the_path_exists(commands: CommandProvider, root: Path) -> None:
    res = a_command(f"{COUNT}; touch installed", creates="/installed")
    assert sync(commands, res)[0] is Action.create
    assert sync(commands, res)[0] is Action.noop
    assert runs(root) == 1
    (root / "installed").unlink()
    assert sync(commands, res)[0] is Action.create
    assert runs(root) == 2


@pytest.mark.parametrize("guard, converged_when", [
    ("unless", "test -e flag"),      # converged when it exits 0
    ("onlyif", "test ! -e flag"),    # converged when it exits non-zero
])
def test_unless_and_onlyif_guards(commands: CommandProvider, root: Path,
                                  guard: str, converged_when: str) -> None:
    res = a_command(COUNT, **{guard: converged_when})
    assert sync(commands, res)[0] is Action.create
    assert sync(commands, res)[0] is Action.create  # the guard still says "run"
    (root / "flag").touch()
    assert sync(commands, res)[0] is Action.noop
    assert runs(root) == 2


def test_a_guardless_command_runs_once_per_change_of_what_it_runs(
        commands: CommandProvider, root: Path) -> None:
    first = a_command(COUNT)
    action, recorded = sync(commands, first)
    assert action is Action.create and recorded is not None
    assert sync(commands, first, recorded)[0] is Action.noop
    assert sync(commands, a_command(COUNT, timeout=60), recorded)[0] is Action.noop
    assert runs(root) == 1
    second = a_command(COUNT, env={"RELEASE": "2"})
    live = commands.read([second], {second.key: recorded})[second.key]
    change = commands.diff(second, live)
    assert change.action is Action.update
    assert [(i.op, i.path, i.new) for i in change.fields] == [("add", "spec.env", {"RELEASE": "2"})]
    commands.apply(change)
    assert runs(root) == 2


def test_a_failing_command_says_its_exit_code_and_last_lines(commands: CommandProvider) -> None:
    res = a_command("echo starting; for i in 1 2 3 4; do echo line$i >&2; done; exit 7")
    with pytest.raises(CommandFailedError) as caught:
        commands.apply(commands.diff(res, None))
    message = str(caught.value)
    assert message.startswith("Command/sample@local: command `echo starting;")
    assert message.endswith("exited with 7: line2 | line3 | line4")
    assert "\n" not in message


def test_a_slow_command_times_out(commands: CommandProvider) -> None:
    res = a_command("sleep 30", timeout="300ms")
    with pytest.raises(CommandTimeoutError, match=r"`sleep 30` did not finish within 0\.3 s"):
        commands.apply(commands.diff(res, None))


def test_check_decides_health(commands: CommandProvider, root: Path) -> None:
    res = a_command("touch service.pid", creates="/service.pid", check="test -s service.pid")
    live_after = commands.apply(commands.diff(res, None))
    assert commands.health(live_after) is Health.degraded  # the pid file is empty
    (root / "service.pid").write_text("42\n")
    live = commands.read([res])[res.key]
    assert commands.health(live) is Health.healthy
    assert commands.diff(res, live).action is Action.noop  # health is not drift


def test_undo_runs_on_prune(commands: CommandProvider, root: Path) -> None:
    res = a_command("mkdir -p cache", creates="/cache", undo="rmdir cache")
    live = commands.apply(commands.diff(res, None))
    commands.delete(live)
    assert not (root / "cache").exists()
    with pytest.raises(CommandFailedError, match="undo command `rmdir cache` exited with 1"):
        commands.delete(live)  # nothing left to undo: the failure is reported


def test_prune_without_undo_leaves_what_the_command_did(
        commands: CommandProvider, root: Path) -> None:
    res = a_command("mkdir -p cache", creates="/cache")
    commands.delete(commands.apply(commands.diff(res, None)))
    assert (root / "cache").is_dir()


def test_cwd_and_env_reach_the_command(commands: CommandProvider, root: Path) -> None:
    (root / "srv").mkdir()
    res = a_command(["sh", "-c", "echo $NAME > out"], cwd="/srv", env={"NAME": "web"})
    commands.apply(commands.diff(res, None))
    assert (root / "srv/out").read_text() == "web\n"
