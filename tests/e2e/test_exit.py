"""How the console script ends: a command that ran to its end leaves at once,
without the interpreter freeing every object, yet with its exit code, its
whole output and the exit handlers that other code registered."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import SYSTEM, Env, file_manifest

_MAIN = """
import atexit, sys, threading, time
import gitward.cli

class Teardown:
    def __del__(self):
        sys.stderr.write("TORN DOWN\\n")

kept = Teardown()   # freed only by the interpreter's teardown
atexit.register(lambda: sys.stderr.write("EXIT HANDLER\\n"))
if sys.argv[1] == "with-thread":
    threading.Thread(target=lambda: (time.sleep(0.3), sys.stderr.write("THREAD DONE\\n"))
                     ).start()
sys.argv = ["gitward", *sys.argv[2:]]
gitward.cli.main()
"""


def _main(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _MAIN, *argv], capture_output=True,
                          text=True, timeout=60)


def test_a_finished_command_skips_the_teardown_but_runs_the_exit_handlers() -> None:
    done = _main("plain", "--help")
    assert done.returncode == 0 and "sync" in done.stdout
    assert "EXIT HANDLER" in done.stderr
    assert "TORN DOWN" not in done.stderr


def test_a_thread_still_working_is_waited_for() -> None:
    done = _main("with-thread", "--help")
    assert done.returncode == 0
    assert "THREAD DONE" in done.stderr and "EXIT HANDLER" in done.stderr


def test_exit_codes_and_output_survive_the_quick_exit(env: Env) -> None:
    env.commit({"gitward.yaml": SYSTEM,
                "apps/web/files.yaml": file_manifest("motd", "/etc/motd", "hello\n")})
    pending = env.subprocess(*env.args("plan", "web", "--output", "json"))
    assert pending.code == 2, pending.stderr   # changes pending
    [planned] = json.loads(pending.stdout)["apps"]
    assert [c["action"] for c in planned["changes"]] == ["create"]
    synced = env.subprocess(*env.args("sync", "web", "--output", "json"))
    assert synced.code == 0, synced.stderr
    assert json.loads(synced.stdout)["apps"][0]["outcome"] == "succeeded"
    assert env.read("/etc/motd") == "hello\n"
    broken = env.subprocess("sync", "web", "--repo", str(env.tmp / "nowhere.git"),
                            "--state-dir", str(env.state))
    assert broken.code == 1 and "nowhere.git" in broken.stderr
