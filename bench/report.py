"""What a run found, as Markdown, JSON and a plot.

- `summary_table`: one row per N and tool, one column per scenario, each
  cell the median wall seconds and the ratio to gitward;
- `full_table`: per N, scenario and tool: median and min-max wall seconds,
  median CPU seconds, peak RSS, ratio to gitward, runs, converged;
- the ratio is paired: the median over rounds of tool / gitward in the same
  round and scenario, which cancels drift that hits both alike;
- the JSON holds the settings, the machine, the notes, the summary and every
  run (warm-ups flagged); the PNG plots median wall time against N.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections import defaultdict
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.measure import Sample, summarize
from bench.suite import Record, Results, Settings
from bench.tools import ALL_SCENARIOS

BASELINE = "gitward"
Key = tuple[int, str, str]   # N, tool, scenario


def machine(peer_versions: dict[str, str] | None = None) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cpu": cpu, "nproc": len(os.sched_getaffinity(0)), "memory_gb": round(mem_kb / 2**20),
            "kernel": platform.release(), "python": platform.python_version(),
            "git": _stdout(["git", "--version"]).removeprefix("git version "),
            "gitward": f"{metadata.version('gitward')} ({_revision()})",
            "peers": peer_versions or {}, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                time.gmtime())}


def machine_line(m: dict[str, Any]) -> str:
    peers = ", ".join(f"{p} {v}" for p, v in m["peers"].items())
    return (f"{m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}, "
            f"Python {m['python']}, git {m['git']}; gitward {m['gitward']}"
            + (f"; {peers}" if peers else "") + f"; {m['date']}")


def group(records: list[Record]) -> dict[Key, list[Record]]:
    out: dict[Key, list[Record]] = defaultdict(list)
    for r in records:
        out[(r.n, r.tool, r.scenario)].append(r)
    return out


def summary(results: Results) -> dict[Key, dict[str, Any]]:
    """Figures per N, tool and scenario from the measured runs."""
    runs = group(results.measured())
    out = {}
    for key, recs in runs.items():
        figures = summarize([Sample(r.wall, r.cpu, r.rss_mb, r.ok) for r in recs])
        base = {r.round: r.wall for r in runs.get((key[0], BASELINE, key[2]), [])}
        ratios = [r.wall / base[r.round] for r in recs if r.round in base]
        figures["ratio"] = statistics.median(ratios) if ratios else None
        figures["failures"] = sorted({r.note for r in recs if not r.ok})
        out[key] = figures
    return out


def summary_table(results: Results) -> str:
    figures = summary(results)
    scenarios = [s for s in ALL_SCENARIOS if any(k[2] == s for k in figures)]
    lines = ["| N | tool | " + " | ".join(scenarios) + " |",
             "|---:|---|" + "---:|" * len(scenarios)]
    for n in results.settings.ns:
        for tool in results.settings.tools:
            cells = []
            for scenario in scenarios:
                f = figures.get((n, tool, scenario))
                cell = "—" if f is None else f"{f['median']:.2f} s"
                if f and f["ratio"] is not None and tool != BASELINE:
                    cell += f" ({f['ratio']:.{1 if f['ratio'] >= 10 else 2}f}x)"
                if f and not f["ok"]:
                    cell += " FAILED"
                cells.append(cell)
            runs = {f["runs"] for k, f in figures.items() if k[:2] == (n, tool)}
            if not runs:
                why = _why_not(results, tool, n)
                lines.append(f"| {n} | {tool} | {why} |" + " |" * (len(scenarios) - 1))
                continue
            label = tool if runs == {results.settings.runs} else f"{tool} ({min(runs)} runs)"
            lines.append(f"| {n} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def full_table(results: Results) -> str:
    figures = summary(results)
    lines = ["| N | scenario | tool | median s | min-max s | CPU s | peak RSS MB | x gitward "
             "| runs | converged |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for n in results.settings.ns:
        for scenario in ALL_SCENARIOS:
            for tool in results.settings.tools:
                f = figures.get((n, tool, scenario))
                if f is None:
                    continue
                ratio = "—" if f["ratio"] is None else f"{f['ratio']:.2f}"
                lines.append(f"| {n} | {scenario} | {tool} | {f['median']:.3f} | "
                             f"{f['min']:.3f}-{f['max']:.3f} | {f['cpu']:.2f} | "
                             f"{f['rss_mb']:.0f} | {ratio} | {f['runs']} | "
                             f"{'yes' if f['ok'] else 'NO: ' + '; '.join(f['failures'])} |")
    return "\n".join(lines)


def change_cost_table(results: Results, scenario: str = "change1") -> str:
    """The cost of one change against repository size, per tool, or ""."""
    figures = summary(results)
    tools = [t for t in results.settings.tools
             if sum((n, t, scenario) in figures for n in results.settings.ns) >= 2]
    if not tools:
        return ""
    lines = ["| N | " + " | ".join(tools) + " |", "|---:|" + "---:|" * len(tools)]
    first = {t: next(figures[(n, t, scenario)]["median"] for n in results.settings.ns
                     if (n, t, scenario) in figures) for t in tools}
    for n in results.settings.ns:
        cells = []
        for t in tools:
            f, noop = figures.get((n, t, scenario)), figures.get((n, t, "noop"))
            cell = "—" if f is None else f"{f['median']:.3f} s ({f['median'] / first[t]:.2f}x"
            if f and noop:
                cell += f", {f['median'] - noop['median']:+.3f} s over noop"
            cells.append(cell + ")" if f else cell)
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(results: Results, title: str, command: str, info: dict[str, Any]) -> str:
    s = results.settings
    parts = [f"# {title}", "",
             f"`{command}` — {s.runs} measured run{'s' if s.runs > 1 else ''} per tool, "
             "scenario and N"
             f"{' after a warm-up' if s.warmup else ''}, tools interleaved round by round; "
             f"total {results.seconds / 60:.1f} min.", "",
             f"Machine: {machine_line(info)}.", "",
             "Median wall seconds" + (" (ratio to gitward, paired by round):"
                                      if len(s.tools) > 1 else ":"), "",
             summary_table(results), ""]
    if cost := change_cost_table(results):
        parts += ["Cost of one change against repository size: median wall seconds of "
                  "`change1`, its ratio to the smallest N, and what it adds to `noop` (the "
                  "change itself, without the per-run cost of looking):", "", cost, ""]
    if results.notes:
        parts += ["Notes:", "", *[f"- {note}" for note in results.notes], ""]
    parts += ["All figures:", "", full_table(results), "",
              "CPU is user + system seconds of the process tree; peak RSS is the largest "
              "single process of the tree (`ru_maxrss` from `wait4`). A run counts only if "
              "the target then matches the repository's files/ byte for byte, mode 0644.", ""]
    return "\n".join(parts)


def write(results: Results, out: Path, stem: str, title: str, command: str,
          info: dict[str, Any], plot: bool) -> list[Path]:
    """Write STEM.md, STEM.json and, when asked, STEM.png under out/."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results, title, command, info)
    (out / f"{stem}.md").write_text(text)
    data = {"command": command, "machine": info, "settings": _settings(results),
            "seconds": results.seconds, "notes": results.notes,
            "measured_n": results.measured_n,
            "summary": {f"{n} {tool} {scenario}": f
                        for (n, tool, scenario), f in summary(results).items()},
            "runs": [asdict(r) for r in results.records]}
    (out / f"{stem}.json").write_text(json.dumps(data, indent=1) + "\n")
    written = [out / f"{stem}.md", out / f"{stem}.json"]
    if plot:
        from bench.plot import plot_medians
        plot_medians(results, summary(results), out / f"{stem}.png", machine_line(info))
        written.append(out / f"{stem}.png")
    return written


def load(path: Path) -> tuple[Results, dict[str, Any]]:
    """Read back what `write` wrote: the results and the whole JSON document."""
    data = json.loads(path.read_text())
    settings = Settings(**data["settings"])
    settings.workdir = Path(settings.workdir) if settings.workdir else None
    results = Results(settings, [Record(**r) for r in data["runs"]], data["notes"],
                      data.get("measured_n", {}), data["seconds"])
    return results, data


def _why_not(results: Results, tool: str, n: int) -> str:
    for note in results.notes:
        if note.startswith(f"{tool}: not installed"):
            return "not installed"
        if note.startswith(f"{tool}: over budget at N={n}:"):
            return "not run: over budget (see notes)"
    return "not run"


def _settings(results: Results) -> dict[str, Any]:
    data = asdict(results.settings)
    data["workdir"] = str(data["workdir"]) if data["workdir"] else None
    return data


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _stdout(argv: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _revision() -> str:
    """The commit of the repository, and whether src/ differs from it."""
    root = Path(__file__).resolve().parent.parent
    rev = _stdout(["git", "rev-parse", "--short", "HEAD"], root) or "unknown revision"
    dirty = _stdout(["git", "status", "--porcelain", "--", "src"], root)
    return rev + (" with local changes to src/" if dirty else "")
