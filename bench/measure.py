"""Running a command as a user would, and reading what it cost.

`run` starts the command in its own session, blocks in `os.wait4` until it
exits and returns a `Sample`:

- wall: a monotonic clock around start and exit;
- cpu: user + system seconds from the rusage `wait4` returns, which covers
  the process and every descendant it waited for (git, sh, module runs),
  the same figure as a RUSAGE_CHILDREN delta;
- rss_mb: `ru_maxrss` of that rusage: the peak resident set of the largest
  single process in the tree, not the sum of processes alive at once.
  Descendants that detach and are never waited for are not counted; none of
  the tools measured here leaves any.

Output goes to a log file (never a pipe, which a chatty tool could fill);
its last line becomes the note of a failed sample.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    ok: bool
    note: str = ""


def run(argv: list[str], *, log: Path, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 900) -> Sample:
    """Run argv to completion; a run past `timeout` is killed with its group.

    >>> run(["true"], log=Path("/tmp/true.log")).ok
    True
    """
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        killed = threading.Event()
        timer = threading.Timer(timeout, _kill_group, (proc.pid, killed))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:   # Ctrl-C: the tool is in its own session, take it along
            _kill_group(proc.pid, killed)
            os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
    ok = proc.returncode == 0
    note = "" if ok else f"exit {proc.returncode}: {last_line(log)}"
    if killed.is_set():
        note = f"killed after {timeout:.0f} s"
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, ok, note)


def _kill_group(pid: int, killed: threading.Event) -> None:
    killed.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else "(no output)"


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Median, min and max wall seconds, median CPU, the highest peak RSS."""
    walls = [s.wall for s in samples]
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "cpu": statistics.median(s.cpu for s in samples),
            "rss_mb": max(s.rss_mb for s in samples),
            "ok": all(s.ok for s in samples), "runs": len(walls)}
