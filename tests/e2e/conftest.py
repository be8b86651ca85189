"""Fixtures for end-to-end tests: a real origin repository, a clone to commit
from, a target directory, and the CLI invoked in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitward.cli import app

GIT_ENV = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.test",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.test"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV},
                          check=True, capture_output=True, text=True)
    return done.stdout.strip()


def file_manifest(name: str, path: str, content: str, mode: str = "0644",
                  annotations: Mapping[str, str] | None = None) -> str:
    notes = "".join(f"\n    {k}: {json.dumps(v)}" for k, v in (annotations or {}).items())
    return (f"apiVersion: gitward/v1\nkind: File\nmetadata:\n  name: {name}\n"
            + (f"  annotations:{notes}\n" if notes else "")
            + f"spec:\n  path: {path}\n  content: {json.dumps(content)}\n  mode: \"{mode}\"\n")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Env:
    """One origin, one clone to commit from, one target root, one store."""

    tmp: Path
    origin: Path
    work: Path
    target: Path
    state: Path
    store: str
    runner: CliRunner = field(default_factory=CliRunner)

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> str:
        for rel, text in files.items():
            path = self.work / rel
            if text is None:
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists() or path.is_symlink():
                    path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")

    def head(self) -> str:
        return git(self.origin, "rev-parse", "main")

    def args(self, *extra: str) -> list[str]:
        return [*extra, "--repo", str(self.origin), "--store", self.store,
                "--state-dir", str(self.state), "--root", f"local={self.target}"]

    def cli(self, command: str, *extra: str, repo_opts: bool = True) -> Result:
        argv = self.args(command, *extra) if repo_opts else [command, *extra]
        done = self.runner.invoke(app, argv, catch_exceptions=False)
        return Result(done.exit_code, done.stdout, done.stderr)

    def history(self, app_name: str) -> list[dict[str, Any]]:
        done = self.runner.invoke(app, ["history", app_name, "--store", self.store,
                                        "--output", "json"], catch_exceptions=False)
        assert done.exit_code == 0, done.stdout + done.stderr
        runs: list[dict[str, Any]] = json.loads(done.stdout)["runs"]
        return runs

    def events(self, app_name: str) -> list[dict[str, Any]]:
        lines = self.store_cli("events", app_name, "--output", "json").stdout.splitlines()
        return [json.loads(line) for line in lines]

    def store_cli(self, *argv: str) -> Result:
        done = self.runner.invoke(app, [*argv, "--store", self.store], catch_exceptions=False)
        return Result(done.exit_code, done.stdout, done.stderr)

    def process_env(self) -> dict[str, str]:
        """The environment of a gitward process of this test: its own state
        directory and its own validator cache (a cold one at first)."""
        return {**os.environ, "GITWARD_STATE_DIR": str(self.state),
                "XDG_CACHE_HOME": str(self.tmp / "cache")}

    def subprocess(self, *argv: str) -> Result:
        done = subprocess.run([sys.executable, "-m", "gitward.cli", *argv], cwd=self.tmp,
                              capture_output=True, text=True, timeout=120,
                              env=self.process_env())
        return Result(done.returncode, done.stdout, done.stderr)

    def read(self, path: str) -> str:
        return (self.target / path.lstrip("/")).read_text()

    def exists(self, path: str) -> bool:
        return (self.target / path.lstrip("/")).exists()

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the target with its bytes, to prove nothing changed."""
        return {str(p.relative_to(self.target)): p.read_bytes()
                for p in sorted(self.target.rglob("*")) if p.is_file()}


HEAVY = ("pygit2", "yaml", "jinja2", "pydantic", "pydantic_core", "sqlalchemy", "alembic")
FULL_SYNC = "gitward.engine.render"   # loaded by a full sync, never by the seal's

# The CLI in a fresh interpreter; at exit it reports which heavy modules were loaded.
_RUN = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: sys.stderr.write("LOADED " + json.dumps(
    [m for m in heavy if m in sys.modules]) + "\\n"))
from gitward.cli import main
sys.argv = ["gitward", *sys.argv[1:]]
main()
"""


def sync_loading(env: Env, *extra: str) -> tuple[dict[str, Any], list[str]]:
    """`gitward sync --all` in a fresh interpreter: its report of the first app, and
    which of the libraries only a change needs it loaded (and `FULL_SYNC` if the
    seal did not answer)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN.format(heavy=(*HEAVY, FULL_SYNC)), "sync", "--all",
         *env.args("--output", "json", *extra)],
        capture_output=True, text=True, timeout=120, cwd=env.tmp, env=env.process_env())
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = next(line for line in done.stderr.splitlines() if line.startswith("LOADED "))
    report: dict[str, Any] = json.loads(done.stdout)["apps"][0]
    return report, json.loads(loaded.removeprefix("LOADED "))


SYSTEM = """\
apiVersion: gitward/v1
kind: System
apps:
  web:
    path: apps/web
"""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "main")
    target = tmp_path / "target"
    target.mkdir()
    yield Env(tmp_path, origin, work, target, tmp_path / "state",
              f"sqlite:///{tmp_path / 'store.db'}")
