"""Running a command as a user would, and reading what it cost.

Wall time from a monotonic clock around fork and wait; CPU seconds and peak
RSS from the rusage that `os.wait4` returns for the process (its waited-for
children included in CPU time)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    ok: bool
    note: str = ""


def run(argv: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 600) -> Sample:
    before = os.times()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.001)
    wall = time.perf_counter() - started
    after = os.times()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return Sample(wall, cpu or usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                  proc.returncode == 0, stderr.strip().splitlines()[-1] if stderr.strip()
                  and proc.returncode else "")


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        walls = [s.wall for s in self.samples]
        return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
                "cpu": statistics.median(s.cpu for s in self.samples),
                "rss_mb": max(s.rss_mb for s in self.samples),
                "ok": all(s.ok for s in self.samples), "runs": len(walls)}
