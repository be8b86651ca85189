"""Running a command on the local host, for `LocalConnection.run`.

The command gets its own session, so that a timeout kills its whole process
group (children included), and its output is read whole. A command that
cannot be found exits 127, as a shell says; a missing working directory or a
command that cannot start is an error of its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitward.providers.errors import CommandTimeoutError, ProviderError, TargetIOError

__all__ = ["CommandResult", "run_process"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


def run_process(argv: Sequence[str], *, shown: str, workdir: str, shown_workdir: str,
                env: Mapping[str, str], data: bytes | None, timeout: float | None
                ) -> CommandResult:
    """Run `argv` in host directory `workdir` with exactly `env`, feeding it
    `data`; `shown` and `shown_workdir` are how errors name the command and
    the directory."""
    try:
        proc = subprocess.Popen(
            argv, cwd=workdir, env=dict(env),
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)  # its own process group, so a timeout kills all of it
    except FileNotFoundError:
        if not os.path.isdir(workdir):
            raise TargetIOError(f"cannot run `{shown}`: working directory {shown_workdir} "
                                "does not exist", errno.ENOENT) from None
        return CommandResult(127, "", f"{argv[0]}: command not found")  # as a shell says
    except OSError as exc:
        raise ProviderError(f"cannot run `{shown}`: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CommandTimeoutError(f"command `{shown}` did not finish within {timeout:g} s "
                                  "and was killed; raise its timeout or fix it") from None
    return CommandResult(proc.returncode, out.decode(errors="replace"),
                         err.decode(errors="replace"))
