"""The contestants, each a command line run as an operator's cron would run it.

A `Tool` owns one folder of the run's workspace: `target/` (what it
converges), `state/` (its checkout, store, caches: set aside with the target
before every round, so `first` starts from a bare host) and `logs/` (the
output of every run). `describe()` gives the files the tool reads from the
origin repository; every tool's description goes into every origin, so the
repository is the same whichever tools a run selects. Peers live in
bench/peers.py; here are gitward and the floor.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent
ALL_SCENARIOS = ("first", "noop", "change1", "prune1")


@dataclass(frozen=True)
class Workspace:
    """Everything one N's run writes lives under `base`, a temp dir."""
    base: Path
    origin: Path
    peers_bin: Path | None = None   # bin/ of the peers' virtual environment

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def trash(self) -> Path:
        """Where `Tool.reset` moves old targets and states; deleted with the workspace."""
        return self.base / "trash"


class Tool:
    name: ClassVar[str]
    scenarios: ClassVar[tuple[str, ...]] = ("first", "noop", "change1")
    package: ClassVar[str | None] = None      # a peer's pip package ...
    executable: ClassVar[str | None] = None   # ... and its command in the peers' venv

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.dir = ws.base / self.name
        self.target, self.state, self.logs = (self.dir / p for p in ("target", "state", "logs"))
        self.checkout = self.state / "checkout"

    def describe(self) -> dict[str, str]:
        """Files this tool reads from the repository, by path."""
        return {}

    def prepare(self) -> None:
        """Once per N, before the first round: configuration outside state/."""
        self.logs.mkdir(parents=True, exist_ok=True)

    def reset(self) -> None:
        """A bare host: no target, no checkout, no cache.

        The old ones are moved into the workspace's trash, not deleted: ext4
        without a journal (as on this kind of VM) passes over every inode freed
        in the last minute or more when it allocates one, so deleting a round's
        thousands of files just before `first` would make each file every tool
        then creates cost ~0.3 ms more, the harness's cleanup measured as theirs."""
        self.ws.trash.mkdir(exist_ok=True)
        for path in (self.target, self.state):
            if path.exists():
                aside = tempfile.mkdtemp(prefix=f"{self.name}-{path.name}-", dir=self.ws.trash)
                path.rename(Path(aside) / path.name)
            path.mkdir(parents=True)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The caller's environment with HOME and TMPDIR inside the workspace."""
        env = {**os.environ, "HOME": str(self.ws.home), "TMPDIR": str(self.ws.base / "tmp"),
               "LC_ALL": "C.UTF-8"}
        if self.executable and self.ws.peers_bin:   # a peer finds its siblings first
            env["PATH"] = f"{self.ws.peers_bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def peer(self, *args: str) -> list[str]:
        """A peer's command line: its executable in the peers' venv, then args."""
        assert self.executable and self.ws.peers_bin, f"{self.name} is not a peer"
        return [str(self.ws.peers_bin / self.executable), *args]

    def pull_then(self, command: list[str]) -> list[str]:
        """`git pull` (a clone the first time), then the tool, in the checkout."""
        ck, origin = shlex.quote(str(self.checkout)), shlex.quote(str(self.ws.origin))
        script = (f"if [ -d {ck} ]; then git -C {ck} pull -q --ff-only; "
                  f"else git clone -q {origin} {ck}; fi && cd {ck} && exec {shlex.join(command)}")
        return ["sh", "-c", script]


class Gitward(Tool):
    """`gitward sync --all` with a SQLite store; its manifests are repo.manifests."""
    name = "gitward"
    scenarios = ALL_SCENARIOS

    def prepare(self) -> None:
        super().prepare()
        # Bytecode, as a wheel install leaves it: an editable install run with
        # PYTHONDONTWRITEBYTECODE would otherwise compile gitward on every run.
        # Its other per-installation artefact, the validators pydantic compiles
        # (kept under HOME/.cache, which rounds share), is built by the warm-up.
        import gitward

        subprocess.run([sys.executable, "-m", "compileall", "-q",
                        str(Path(gitward.__file__).parent)], check=True)

    def argv(self) -> list[str]:
        # The console script beside this interpreter, not a version manager's shim.
        beside = Path(sys.executable).parent / "gitward"
        gitward = str(beside) if beside.exists() else shutil.which("gitward") or "gitward"
        return [gitward, "sync", "--all", "--repo", str(self.ws.origin), "--root",
                f"local={self.target}", "--store", f"sqlite:///{self.state}/store.db",
                "--state-dir", str(self.state), "--output", "json"]


class Floor(Tool):
    """bench/floor.py: git pull, rewrite what differs, remove what left."""
    name = "floor"
    scenarios = ALL_SCENARIOS

    def argv(self) -> list[str]:
        return [sys.executable, str(HERE / "floor.py"), str(self.ws.origin), str(self.checkout),
                str(self.target)]
