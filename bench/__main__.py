"""python -m bench core [--n 100,1000,10000] [--runs 3]"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import core


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="suite", required=True)
    c = sub.add_parser("core", help="gitward one-shot sync vs the floor script")
    c.add_argument("--n", default="100,1000", help="comma-separated file counts")
    c.add_argument("--runs", type=int, default=3)
    c.add_argument("--tools", default="gitward,floor")
    c.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.suite == "core":
        core.main([int(x) for x in args.n.split(",")], args.runs, args.tools.split(","),
                  args.out)


if __name__ == "__main__":
    main()
