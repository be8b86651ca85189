"""`python -m bench.agent --n 10000`: the agent's own costs at scale.

Three figures, from the issue that asked for the agent:

- **no-op reconcile**: one scheduler pass when Git did not move (fetch,
  compare, nothing re-rendered), measured in-process on a converged agent;
- **drift check**: a dry-run plan of every resource against the target,
  in-process, warm (renders and inventory cached as the agent keeps them);
- **push to converged**: a real agent process; one file changes, is pushed,
  a signed webhook says so, and the clock stops when the target file holds
  the new bytes. Repeated (default 20) and reported as p50 and p90.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import repo

SECRET = "bench-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _converge_once(origin: Path, target: Path, state: Path) -> None:
    subprocess.run([sys.executable, "-m", "gitward.cli", "sync", "--all", "--repo", str(origin),
                    "--root", f"local={target}", "--store", f"sqlite:///{state}/store.db",
                    "--state-dir", str(state), "--output", "json"], check=True,
                   stdout=subprocess.DEVNULL)


def in_process(origin: Path, target: Path, state: Path, rounds: int) -> dict[str, Any]:
    from gitward.agent.config import AgentConfig
    from gitward.agent.runner import Agent
    from gitward.stores import open_store

    store = open_store(f"sqlite:///{state}/store.db")
    config = AgentConfig(repo=str(origin), roots={"local": str(target)})
    agent = Agent(config, store, state)
    agent._poll("bench")                      # first pass: loads and renders
    while not agent.queue.idle():
        time.sleep(0.01)
    noop = []
    for _ in range(rounds):
        started = time.perf_counter()
        agent._poll("bench")
        noop.append(time.perf_counter() - started)
    system = agent._system
    assert system is not None and agent._snapshot is not None
    name = sorted(system.apps)[0]
    drift = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        agent._check_drift(name, system.apps[name], agent._snapshot)
        drift.append(time.perf_counter() - started)
    agent.queue.close()
    store.close()
    return {"noop_reconcile_s": statistics.median(noop),
            "drift_check_s": statistics.median(drift[1:])}


def push_to_converged(origin: Path, work: Path, target: Path, state: Path, n: int,
                      pushes: int) -> dict[str, Any]:
    port = _free_port()
    log = open(state / "agent.log", "wb")  # noqa: SIM115 - closed after the process
    agent = subprocess.Popen(
        [sys.executable, "-m", "gitward.cli", "agent", "--repo", str(origin),
         "--root", f"local={target}", "--store", f"sqlite:///{state}/store.db",
         "--state-dir", str(state), "--listen", f"127.0.0.1:{port}", "--poll-interval", "1h",
         "--webhook-secret", SECRET], stdout=log, stderr=log)
    try:
        _wait(lambda: _get(f"http://127.0.0.1:{port}/readyz") == 200, 60)
        from gitward.server.admin import token_create

        token = token_create(f"sqlite:///{state}/store.db", "bench", "viewer")["token"]
        _wait(lambda: _idle(port, token), 600)
        times = []
        for round_ in range(1001, 1001 + pushes):
            i = (round_ * 7919) % n          # the file change_one rewrites
            repo.change_one(work, n, round_)
            expected = (work / "files" / repo.rel_path(i)).read_bytes()
            started = time.perf_counter()
            _hook(port, origin, f"bench-{round_}-{time.time_ns()}")
            _wait(lambda i=i, expected=expected: _holds(target / repo.rel_path(i), expected),
                  60)
            times.append(time.perf_counter() - started)
        times.sort()
        return {"push_to_converged_p50_s": statistics.median(times),
                "push_to_converged_p90_s": times[int(len(times) * 0.9) - 1],
                "pushes": pushes}
    finally:
        agent.terminate()
        agent.wait(30)
        log.close()


def _holds(path: Path, expected: bytes) -> bool:
    try:
        return path.read_bytes() == expected
    except FileNotFoundError:
        return False


def _idle(port: int, token: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/apps",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        apps = json.load(answer)["apps"]
    return bool(apps) and all(a["sync"] == "synced" for a in apps)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except OSError:
        return 0


def _hook(port: int, origin: Path, delivery: str) -> None:
    body = json.dumps({"repository": str(origin), "ref": "refs/heads/main"}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks/generic", data=body, method="POST",
        headers={"X-Gitward-Signature": f"sha256={signature}", "X-Gitward-Delivery": delivery,
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agent")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gitward-bench-agent-"))
    try:
        origin, work = repo.make_origin(base, args.n)
        target, state = base / "target", base / "state"
        target.mkdir()
        state.mkdir()
        _converge_once(origin, target, state)
        figures = {"n": args.n, **in_process(origin, target, state, args.rounds)}
        figures.update(push_to_converged(origin, work, target, state, args.n, args.pushes))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    text = json.dumps(figures, indent=2)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "agent.json").write_text(text + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
