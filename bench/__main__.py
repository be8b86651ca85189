"""python -m bench {peers,core,scale,render} [options]; `python -m bench peers -h` for them.

    peers  gitward, the floor, Salt, pyinfra (sync and put), ansible-pull at
           N=100,1000; installs the peers into bench/work/peers-venv first.
    core   gitward and the floor only.
    scale  gitward only at N=100,1000,10000: every scenario, and the cost of
           one change against repository size.

Each writes bench/results/SUITE.md and SUITE.json (peers also SUITE.png);
`python -m bench render SUITE` rewrites them from SUITE.json. `--quick`
(N=20, one run, no warm-up, no install, nothing written) is what the test
suite runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import peer_env, report
from bench.suite import TOOLS, Settings, run_suite

PEERS = ["gitward", "floor", "salt", "pyinfra", "pyinfra-put", "ansible-pull"]
SUITES = {  # name: (help, tools, N, plot, title)
    "peers": ("gitward against ansible-pull, Salt, pyinfra and the floor", PEERS,
              "100,1000", True, "gitward against its peers"),
    "core": ("gitward against the floor script", ["gitward", "floor"], "100,1000", False,
             "gitward against the floor"),
    "scale": ("gitward alone as the repository grows", ["gitward"], "100,1000,10000", False,
              "gitward as the repository grows"),
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="suite", required=True)
    for name, (help_, tools, ns, plot, _) in SUITES.items():
        p = sub.add_parser(name, help=help_)
        p.add_argument("--n", default=ns, help=f"comma-separated file counts (default {ns})")
        p.add_argument("--tools", default=",".join(tools),
                       help=f"comma-separated, of {', '.join(TOOLS)} (default: %(default)s)")
        p.add_argument("--runs", type=int, default=3, help="measured rounds (default 3)")
        p.add_argument("--no-warmup", dest="warmup", action="store_false")
        p.add_argument("--budget", type=float, default=60.0,
                       help="seconds per run above which a tool is not run at larger N")
        p.add_argument("--tool-budget", type=float, default=450.0,
                       help="seconds of measured rounds per tool and N (fewer rounds past it)")
        p.add_argument("--timeout", type=float, default=900.0, help="seconds before a kill")
        p.add_argument("--no-install", dest="install", action="store_false",
                       help="do not create or complete the peers' venv; skip missing peers")
        p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
        p.add_argument("--no-plot", dest="plot", action="store_false", default=plot)
        p.add_argument("--workdir", type=Path, help="parent of the temp workspaces")
        p.add_argument("--quick", action="store_true",
                       help="N=20, one run, no warm-up, no install, write nothing")
    r = sub.add_parser("render", help="rewrite SUITE.md (and .png) from SUITE.json")
    r.add_argument("name", choices=list(SUITES))
    r.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    return parser.parse_args(argv)


def render(name: str, out: Path) -> int:
    results, data = report.load(out / f"{name}.json")
    written = report.write(results, out, name, SUITES[name][4], data["command"],
                           data["machine"], plot=SUITES[name][3])
    print("\n".join(f"wrote {path}" for path in written))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.suite == "render":
        return render(args.name, args.out)
    tools = args.tools.split(",")
    if unknown := [t for t in tools if t not in TOOLS]:
        sys.exit(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(TOOLS)}")
    if args.quick:
        args.n, args.runs, args.warmup, args.install, args.out = "20", 1, False, False, None
    settings = Settings([int(n) for n in args.n.split(",")], tools, args.runs, args.warmup,
                        args.budget, args.tool_budget, args.timeout, args.workdir)
    peers = None
    if any(TOOLS[t].package for t in tools):
        peers = peer_env.ensure() if args.install else peer_env.probe()
    info = report.machine(peers.versions if peers else None)   # as the run starts
    results = run_suite(settings, peers, log=lambda line: print(line, flush=True))
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    title = SUITES[args.suite][4]
    print(report.markdown(results, title, command, info))
    if args.out:
        for path in report.write(results, args.out, args.suite, title, command, info, args.plot):
            print(f"wrote {path}")
    return 0 if all(r.ok for r in results.records) else 1


if __name__ == "__main__":
    sys.exit(main())
