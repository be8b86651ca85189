"""A sync killed with SIGKILL leaves an `interrupted` run; the next one converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import SYSTEM, Env, file_manifest


def _command(name: str, wave: int, script: str) -> str:
    return (f"apiVersion: gitward/v1\nkind: Command\nmetadata:\n  name: {name}\n"
            f"  annotations: {{gitward/wave: \"{wave}\"}}\nspec:\n  command: '{script}'\n")


def test_sigkill_mid_sync_then_rerun_converges(env: Env, tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    slow.write_text("1")
    started = tmp_path / "started"
    manifests = "---\n".join([
        file_manifest("early", "/srv/early", "early\n"),
        _command("mark", 1, f"touch {started}"),
        _command("slow", 2, f"if [ -e {slow} ]; then sleep 60; fi; echo ok > {env.target}/done"),
        file_manifest("late", "/srv/late", "late\n").replace(
            "metadata:\n  name: late\n", "metadata:\n  name: late\n  annotations: "
            "{gitward/wave: \"3\"}\n"),
    ])
    env.commit({"gitward.yaml": SYSTEM, "apps/web/all.yaml": manifests}, "Slow app")
    proc = subprocess.Popen([sys.executable, "-m", "gitward.cli", *env.args("sync", "web")],
                            cwd=env.tmp, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env=env.process_env())
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None, "sync ended before it could be killed"
        assert time.monotonic() < deadline, "sync never reached the slow command"
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    assert env.read("/srv/early") == "early\n"
    assert not env.exists("/srv/late")
    leftovers = [p for p in env.target.rglob("*") if ".tmp" in p.name or p.name.startswith(".")]
    assert leftovers == [], f"half-written files left: {leftovers}"

    slow.unlink()
    again = env.cli("sync", "web")
    assert again.code == 0, again.stdout + again.stderr
    assert env.read("/srv/late") == "late\n" and env.exists("/done")
    outcomes = [r["outcome"] for r in env.history("web")]
    assert outcomes == ["succeeded", "interrupted"]
