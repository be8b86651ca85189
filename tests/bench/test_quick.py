"""The benchmark suite in quick mode: N=20, one run, no warm-up.

It keeps the harness from rotting. It asserts that every scenario of every
tool converged (the tree compare of bench/check.py), never how fast. The
peers run only where `python -m bench peers` has installed them into
bench/work/peers-venv; ansible-pull takes ~45 s even at N=20, so it also
needs GITWARD_BENCH_ANSIBLE=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bench.__main__ import main
from bench.check import tree_difference
from bench.suite import TOOLS, Results, Settings, run_suite
from bench.tools import Floor, Workspace

from bench import peer_env, report


@pytest.fixture(scope="module")
def peers() -> peer_env.PeerEnv:
    return peer_env.probe()


def quick(tools: list[str], workdir: Path, peers: peer_env.PeerEnv | None = None) -> Results:
    lines: list[str] = []
    results = run_suite(Settings([20], tools, runs=1, warmup=False, workdir=workdir), peers,
                        log=lines.append)
    failed = [f"{r.tool} {r.scenario}: {r.note}" for r in results.records if not r.ok]
    assert not failed, "\n".join(lines)
    for tool in tools:
        ran = [r.scenario for r in results.records if r.tool == tool]
        assert ran == list(TOOLS[tool].scenarios), f"{tool} ran {ran}"
    return results


def test_gitward_and_the_floor_converge_in_every_scenario(tmp_path: Path) -> None:
    results = quick(["gitward", "floor"], tmp_path)

    assert {r.scenario for r in results.records} == {"first", "noop", "change1", "prune1"}
    written = report.write(results, tmp_path / "results", "quick", "quick", "test",
                           report.machine(), plot=False)
    text = written[0].read_text()
    assert "| 20 | gitward | " in text and "| 20 | floor | " in text
    runs = json.loads(written[1].read_text())["runs"]
    assert len(runs) == 8 and all(r["ok"] for r in runs)
    reloaded, _ = report.load(written[1])
    assert report.summary_table(reloaded) == report.summary_table(results)


@pytest.mark.parametrize("tool", ["salt", "pyinfra", "pyinfra-put", "ansible-pull"])
def test_a_peer_converges_in_its_scenarios(tool: str, tmp_path: Path,
                                           peers: peer_env.PeerEnv) -> None:
    package = TOOLS[tool].package
    if package in peers.missing:
        pytest.skip(f"{package}: {peers.missing[package]} (python -m bench peers installs it)")
    if tool == "ansible-pull" and not os.environ.get("GITWARD_BENCH_ANSIBLE"):
        pytest.skip("ansible-pull takes ~45 s at N=20; set GITWARD_BENCH_ANSIBLE=1")

    quick([tool], tmp_path, peers)


def test_the_tree_compare_sees_bytes_modes_and_strays(tmp_path: Path) -> None:
    want, got = tmp_path / "want", tmp_path / "got"
    for root in (want, got):
        (root / "d0").mkdir(parents=True)
        (root / "d0" / "f0.txt").write_text("same\n")
        (root / "d0" / "f0.txt").chmod(0o644)
    assert tree_difference(want, got) == ""

    (got / "d0" / "f0.txt").chmod(0o600)
    assert tree_difference(want, got).startswith("mode 600")
    (got / "d0" / "f0.txt").chmod(0o644)
    (got / "d0" / "f0.txt").write_text("sane\n")
    assert tree_difference(want, got) == "bytes differ: d0/f0.txt"
    (got / "d0" / "f0.txt").write_text("same\n")
    (got / "d0" / "stray.txt").write_text("x")
    assert tree_difference(want, got).startswith("only in target: d0/stray.txt")


def test_a_reset_leaves_a_bare_host_and_deletes_nothing_until_the_end(tmp_path: Path) -> None:
    tool = Floor(Workspace(tmp_path, tmp_path / "origin.git"))
    tool.reset()
    (tool.target / "d0").mkdir()
    (tool.target / "d0" / "f0.txt").write_text("round 1\n")
    (tool.state / "checkout").mkdir()

    tool.reset()
    assert list(tool.target.iterdir()) == [] and list(tool.state.iterdir()) == []
    aside = sorted(p.relative_to(tool.ws.trash).parts[1:] for p in tool.ws.trash.rglob("*")
                   if p.is_file() or p.name == "checkout")
    assert aside == [("state", "checkout"), ("target", "d0", "f0.txt")]


def test_the_command_line_quick_mode_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["core", "--quick", "--tools", "floor"]) == 0
    assert "| 20 | floor | " in capsys.readouterr().out


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    results = quick(["floor"], tmp_path)

    written = report.write(results, tmp_path / "results", "quick", "quick", "test",
                           report.machine(), plot=True)
    assert written[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
