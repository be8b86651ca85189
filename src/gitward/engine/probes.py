"""App probes: is the thing gitward deployed actually up?

Resources report their own health (a file is there, a command's check
passes); a probe asks the running service: an HTTP GET expecting a status,
a TCP connect, or a command's exit code. It runs on the machine gitward runs
on, after a sync and whenever health is computed, with a timeout per attempt
and a few retries, and only makes an app's health worse, never better.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request

from gitward.core.model import Health
from gitward.core.system import ProbeSpec

__all__ = ["run_probe"]


def run_probe(probe: ProbeSpec) -> tuple[Health, str]:
    """(healthy, how) after the first passing attempt, else (degraded, why)."""
    why = ""
    for attempt in range(probe.retries + 1):
        if attempt:
            time.sleep(probe.delay)
        ok, why = _attempt(probe)
        if ok:
            return Health.healthy, why
    return Health.degraded, why


def _attempt(probe: ProbeSpec) -> tuple[bool, str]:
    if probe.http is not None:
        return _http(probe.http.url, probe.http.status, probe.timeout)
    if probe.tcp is not None:
        return _tcp(probe.tcp.host, probe.tcp.port, probe.timeout)
    assert probe.command is not None
    return _command(probe.command, probe.timeout)


def _http(url: str, expected: int, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        return False, f"GET {url}: {error}"
    return status == expected, f"GET {url}: {status} (expected {expected})"


def _tcp(host: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, f"tcp {host}:{port} accepts connections"
    except OSError as error:
        return False, f"tcp {host}:{port}: {error}"


def _command(command: str, timeout: float) -> tuple[bool, str]:
    try:
        done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, f"probe command timed out after {timeout:g}s"
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return done.returncode == 0, f"probe command exited {done.returncode} {tail[0]}".strip()
