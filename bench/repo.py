"""Benchmark repositories: N files of 200-400 bytes over 10 directories.

One bare origin per N holds the desired state once, under files/, and every
tool's description of it side by side: gitward's manifests (gitward.yaml and
apps/files/, one File per file, content from the file), and whatever else the
tools add (a playbook, Salt states, pyinfra deploys; see bench/tools.py). A
work clone commits the scenario changes: one file changed, one removed (bytes
and manifest), and the revert that brings the repository back to N files.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def file_body(i: int, salt: str = "") -> str:
    """200-400 bytes of text, the same for the same i and salt."""
    rng = random.Random(i)
    text, size = f"# file {i}{salt}\n", rng.randint(200, 380)
    while len(text) < size:
        text += rng.choice(["alpha", "beta", "gamma", "delta", "omega", "sigma"]) + " "
    return text[:399] + "\n"


def rel_path(i: int) -> str:
    return f"d{i % 10}/f{i}.txt"


def manifests(n: int) -> dict[str, str]:
    """One manifest file per directory, one document per file."""
    out: dict[str, list[str]] = {}
    for i in range(n):
        rel = rel_path(i)
        out.setdefault(f"apps/files/{rel.split('/')[0]}.yaml", []).append(
            f"apiVersion: gitward/v1\nkind: File\nmetadata:\n  name: f{i}\n"
            f"spec:\n  path: /{rel}\n  source: /files/{rel}\n  mode: \"0644\"\n")
    return {path: "---\n".join(docs) for path, docs in out.items()}


SYSTEM = "apiVersion: gitward/v1\nkind: System\napps:\n  files:\n    path: apps/files\n"


def make_origin(base: Path, n: int, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A bare origin with N files and a work clone to commit changes from.

    `extra` maps more paths of the repository to their text (the peers'
    descriptions)."""
    origin, work = base / "origin.git", base / "work"
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(base, "init", "-q", "-b", "main", str(work))
    for i in range(n):
        path = work / "files" / rel_path(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file_body(i))
    for rel, text in {"gitward.yaml": SYSTEM, **manifests(n), **(extra or {})}.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"{n} files")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return origin, work


def change_one(work: Path, n: int, round_: int) -> None:
    i = (round_ * 7919) % n
    (work / "files" / rel_path(i)).write_text(file_body(i, f" changed {round_}"))
    git(work, "commit", "-qam", f"change {i}")
    git(work, "push", "-q", "origin", "main")


def remove_one(work: Path, n: int, round_: int) -> None:
    """Remove one file from Git, both its bytes and its manifest."""
    i = (round_ * 104729 + 1) % n
    rel = rel_path(i)
    (work / "files" / rel).unlink()
    manifest = work / f"apps/files/{rel.split('/')[0]}.yaml"
    kept = [d for d in manifest.read_text().split("---\n") if f"path: /{rel}\n" not in d]
    manifest.write_text("---\n".join(kept))
    git(work, "commit", "-qam", f"remove {i}")
    git(work, "push", "-q", "origin", "main")


def undo_last(work: Path) -> None:
    """Revert the last commit (the removal), so the next round has N files."""
    git(work, "revert", "--no-edit", "HEAD")
    git(work, "push", "-q", "origin", "main")
