"""`python -m bench core`: gitward one-shot sync against the floor script.

For each N, both tools converge a fresh target from the same origin
(scenario `first`), then run with nothing changed (`noop`), after a commit
that changes one file (`change1`) and after one that removes one (`prune1`).
Runs are interleaved tool by tool; every run is checked (`diff -r` of the
repository's files against the target) and a mismatch counts as a failure.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import repo
from bench.measure import Series, run

HERE = Path(__file__).resolve().parent
SCENARIOS = ("first", "noop", "change1", "prune1")


def same_tree(a: Path, b: Path) -> bool:
    """True when b holds exactly a's files with the same bytes."""
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(
        same_tree(a / d, b / d) for d in cmp.common_dirs)


class Tool:
    def __init__(self, name: str, base: Path, origin: Path) -> None:
        self.name, self.base, self.origin = name, base, origin
        self.target = base / f"{name}-target"

    def reset(self) -> None:
        shutil.rmtree(self.base / f"{self.name}-state", ignore_errors=True)
        shutil.rmtree(self.target, ignore_errors=True)
        self.target.mkdir(parents=True)
        if isinstance(self, Gitward):
            (self.base / f"{self.name}-state").mkdir()

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)


class Gitward(Tool):
    def argv(self) -> list[str]:
        gitward = shutil.which("gitward") or "gitward"
        state = self.base / f"{self.name}-state"
        return [gitward, "sync", "--all", "--repo", str(self.origin), "--root",
                f"local={self.target}", "--store", f"sqlite:///{state}/store.db",
                "--state-dir", str(state), "--output", "json"]


class Floor(Tool):
    def argv(self) -> list[str]:
        return [sys.executable, str(HERE / "floor.py"), str(self.origin),
                str(self.base / f"{self.name}-state"), str(self.target)]


def bench_n(n: int, runs: int, base: Path, tools: list[str]) -> dict[str, dict[str, Series]]:
    origin, work = repo.make_origin(base, n)
    made = [{"gitward": Gitward, "floor": Floor}[t](t, base, origin) for t in tools]
    series = {t.name: {s: Series() for s in SCENARIOS} for t in made}
    round_ = 0
    for attempt in range(runs + 1):   # the first round is a warm-up
        for tool in made:
            tool.reset()
        for scenario in SCENARIOS:
            if scenario == "change1":
                round_ += 1
                repo.change_one(work, n, round_)
            if scenario == "prune1":
                round_ += 1
                repo.remove_one(work, n, round_)
            for tool in made:
                sample = run(tool.argv(), env=tool.env())
                sample.ok = sample.ok and same_tree(work / "files", tool.target)
                if attempt:
                    series[tool.name][scenario].samples.append(sample)
                elif not sample.ok:
                    print(f"  warm-up {tool.name} {scenario} failed: {sample.note}")
        # Restore the removed file so every round starts from N files.
        repo.git(work, "revert", "--no-edit", "HEAD")
        repo.git(work, "push", "-q", "origin", "main")
    return series


def table(results: dict[int, dict[str, dict[str, Series]]], baseline: str = "gitward") -> str:
    lines = ["| N | tool | scenario | median s | min-max s | CPU s | peak RSS MB | "
             f"ratio to {baseline} | ok |", "|---|---|---|---|---|---|---|---|---|"]
    for n, by_tool in results.items():
        for scenario in SCENARIOS:
            base = by_tool[baseline][scenario].summary()["median"]
            for tool, by_scenario in by_tool.items():
                s = by_scenario[scenario].summary()
                lines.append(f"| {n} | {tool} | {scenario} | {s['median']:.3f} | "
                             f"{s['min']:.3f}-{s['max']:.3f} | {s['cpu']:.3f} | "
                             f"{s['rss_mb']:.0f} | {s['median'] / base:.2f} | "
                             f"{'yes' if s['ok'] else 'NO'} |")
    return "\n".join(lines)


def main(ns: list[int], runs: int, tools: list[str], out: Path | None) -> dict[str, Any]:
    results = {}
    for n in ns:
        base = Path(tempfile.mkdtemp(prefix=f"gitward-bench-{n}-"))
        try:
            print(f"N={n}: {runs} runs after a warm-up", flush=True)
            results[n] = bench_n(n, runs, base, tools)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    text = table(results)
    print(text)
    data = {str(n): {t: {s: v.summary() for s, v in by.items()} for t, by in r.items()}
            for n, r in results.items()}
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "core.md").write_text(text + "\n")
        (out / "core.json").write_text(json.dumps(data, indent=2))
    return data
