"""One benchmark run: the selected tools, each N, every scenario, interleaved.

For each N a fresh workspace gets one origin repository (bench/repo.py) and
one folder per tool; workspaces are deleted when the whole run is over,
never between measured runs (see `Tool.reset`). Then rounds: round 0 is the
warm-up (not counted), rounds 1..runs are measured. In every round each tool starts from a bare
host, and for each scenario the repository changes once and then every
tool runs it in turn, in an order that rotates from round to round, so that
drift of a shared, noisy machine hits all tools alike:

    first    fresh clone, empty target
    noop     nothing changed
    change1  a commit changed one file
    prune1   a commit removed one file (gitward and the floor only)

Each run is checked against the repository (bench/check.py). Budgets keep a
default run short: a tool whose slowest warm-up run took more than `budget`
seconds, or whose run is estimated (linearly in N) to take more at the next
N, is not run there; a tool whose warm-up round (all its scenarios) times
`runs` would exceed `tool_budget` gets fewer measured rounds. Both are
recorded as notes, never extrapolated into figures.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import repo
from bench.check import tree_difference
from bench.measure import Sample, run
from bench.peer_env import PeerEnv
from bench.peers import AnsiblePull, Pyinfra, PyinfraPut, Salt
from bench.tools import ALL_SCENARIOS, Floor, Gitward, Tool, Workspace

TOOLS: dict[str, type[Tool]] = {t.name: t for t in (Gitward, Floor, Salt, Pyinfra, PyinfraPut,
                                                    AnsiblePull)}


@dataclass
class Settings:
    ns: list[int]
    tools: list[str]
    runs: int = 3
    warmup: bool = True
    budget: float = 60.0        # seconds for one run; over it, not run at larger N
    tool_budget: float = 450.0  # seconds of measured rounds for one tool at one N
    timeout: float = 900.0      # a run is killed after this
    workdir: Path | None = None  # parent of the temp workspaces (default: the system's)


@dataclass
class Record:
    """One run of one tool."""
    n: int
    tool: str
    scenario: str
    round: int
    warmup: bool
    wall: float
    cpu: float
    rss_mb: float
    ok: bool
    note: str = ""


@dataclass
class Results:
    settings: Settings
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured_n: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0

    def measured(self) -> list[Record]:
        return [r for r in self.records if not r.warmup]


def run_suite(settings: Settings, peers: PeerEnv | None = None,
              log: Callable[[str], None] = print) -> Results:
    """Run every N in turn; see the module docstring for the rules."""
    started = time.perf_counter()
    results = Results(settings)
    names = _runnable(settings.tools, peers, results)
    slowest: dict[str, tuple[int, float]] = {}   # tool -> (N, slowest warm-up run)
    bases: list[Path] = []   # deleted at the end, not between runs (see Tool.reset)
    try:
        for n in settings.ns:
            now = [name for name in names if _within_budget(name, n, slowest, settings, results)]
            if not now:
                continue
            base = Path(tempfile.mkdtemp(prefix=f"gitward-bench-{n}-", dir=settings.workdir))
            bases.append(base)
            log(f"N={n}: {', '.join(now)}; {settings.runs} measured round(s)"
                f"{' after a warm-up' if settings.warmup else ''}; workspace {base}")
            _bench_n(n, now, base, peers, settings, results, slowest, log)
            for name in now:
                results.measured_n.setdefault(name, []).append(n)
    finally:
        results.seconds = time.perf_counter() - started
        for base in bases:
            shutil.rmtree(base, ignore_errors=True)
    return results


def _runnable(names: list[str], peers: PeerEnv | None, results: Results) -> list[str]:
    out = []
    for name in names:
        package = TOOLS[name].package
        if package and (peers is None or package in peers.missing):
            why = peers.missing[package] if peers else "peers not requested"
            results.notes.append(f"{name}: not installed: {why}")
        else:
            out.append(name)
    return out


def _within_budget(name: str, n: int, slowest: dict[str, tuple[int, float]],
                   settings: Settings, results: Results) -> bool:
    if name not in slowest:
        return True
    at, wall = slowest[name]
    estimate = wall * n / at
    if estimate <= settings.budget:
        return True
    results.notes.append(
        f"{name}: over budget at N={n}: ~{estimate:.0f} s per run estimated from {wall:.0f} s "
        f"at N={at} (budget {settings.budget:.0f} s); measured at N="
        f"{','.join(map(str, results.measured_n.get(name, [])))} only")
    return False


def _bench_n(n: int, names: list[str], base: Path, peers: PeerEnv | None, settings: Settings,
             results: Results, slowest: dict[str, tuple[int, float]],
             log: Callable[[str], None]) -> None:
    # One origin holding every tool's description, so it is the same whatever runs.
    ws = Workspace(base, base / "origin.git", peers.bin if peers else None)
    for folder in (ws.home, base / "tmp"):
        folder.mkdir()
    every = {name: cls(ws) for name, cls in TOOLS.items()}
    described = {path: text for tool in every.values() for path, text in tool.describe().items()}
    _, work = repo.make_origin(base, n, described)
    tools = [every[name] for name in names]
    for tool in tools:
        tool.prepare()
    rounds = dict.fromkeys(names, settings.runs)
    first_round = 0 if settings.warmup else 1
    for round_ in range(first_round, settings.runs + 1):
        # Rotate the order, and drop tools whose budget allows no more rounds.
        shift = round_ % len(tools)
        now = [t for t in tools[shift:] + tools[:shift] if rounds[t.name] >= round_]
        if not now:
            break
        walls = _round(n, round_, now, work, settings.timeout, results, log)
        if round_ == first_round:
            slowest.update((t.name, (n, max(walls[t.name]))) for t in now)
            _fit_rounds(n, now, {t.name: sum(walls[t.name]) for t in now}, rounds, settings,
                        results)


def _round(n: int, round_: int, tools: list[Tool], work: Path, timeout: float,
           results: Results, log: Callable[[str], None]) -> dict[str, list[float]]:
    """Every scenario once, each tool in turn, from bare hosts; the walls by tool."""
    for tool in tools:
        tool.reset()
    walls: dict[str, list[float]] = {t.name: [] for t in tools}
    for scenario in ALL_SCENARIOS:
        runners = [t for t in tools if scenario in t.scenarios]
        if not runners:
            continue
        if scenario == "change1":
            repo.change_one(work, n, round_)
        elif scenario == "prune1":
            repo.remove_one(work, n, round_)
        for tool in runners:
            sample = _run_checked(tool, work, f"{round_}-{scenario}", timeout)
            results.records.append(Record(n, tool.name, scenario, round_, round_ == 0,
                                          **asdict(sample)))
            walls[tool.name].append(sample.wall)
            log(f"  N={n} round {round_}{' (warm-up)' if round_ == 0 else ''} "
                f"{scenario:8} {tool.name:13} {sample.wall:8.3f} s  "
                f"{'ok' if sample.ok else 'FAILED: ' + sample.note}")
        if scenario == "prune1":
            repo.undo_last(work)   # back to N files for the next round
    return walls


def _run_checked(tool: Tool, work: Path, label: str, timeout: float) -> Sample:
    sample = run(tool.argv(), log=tool.logs / f"{label}.log", cwd=tool.dir, env=tool.env(),
                 timeout=timeout)
    if sample.ok and (difference := tree_difference(work / "files", tool.target)):
        sample.ok, sample.note = False, f"not converged: {difference}"
    return sample


def _fit_rounds(n: int, tools: list[Tool], spent: dict[str, float], rounds: dict[str, int],
                settings: Settings, results: Results) -> None:
    """Fewer measured rounds for a tool whose rounds would not fit its budget."""
    for tool in tools:
        fits = max(1, int(settings.tool_budget // max(spent[tool.name], 1e-9)))
        if fits < settings.runs:
            rounds[tool.name] = fits
            results.notes.append(
                f"{tool.name}: {fits} measured run{'s' if fits > 1 else ''} at N={n} instead "
                f"of {settings.runs}: one round of its scenarios took {spent[tool.name]:.0f} s "
                f"(budget {settings.tool_budget:.0f} s per tool and N)")
