"""The plot: median wall seconds against N, one panel per scenario, log-log.

Bars span min to max of the measured runs. A tool measured at one N only
(over budget beyond it) is a lone marker. Needs matplotlib (the `bench`
extra: `pip install -e '.[bench]'`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.suite import Results
from bench.tools import ALL_SCENARIOS

STYLE = {"gitward": ("tab:blue", "o"), "floor": ("black", "s"), "salt": ("tab:green", "^"),
         "pyinfra": ("tab:orange", "v"), "pyinfra-put": ("tab:brown", "<"),
         "ansible-pull": ("tab:red", "D")}


def plot_medians(results: Results, figures: dict[tuple[int, str, str], dict[str, Any]],
                 path: Path, subtitle: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    scenarios = [s for s in ALL_SCENARIOS if any(k[2] == s for k in figures)]
    cols = 2 if len(scenarios) > 1 else 1
    rows = (len(scenarios) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows + 0.6), squeeze=False,
                             sharey=True)
    for ax, scenario in zip(axes.flat, scenarios, strict=False):
        for tool in results.settings.tools:
            points = [(n, figures[(n, tool, scenario)]) for n in results.settings.ns
                      if (n, tool, scenario) in figures]
            if not points:
                continue
            color, marker = STYLE.get(tool, ("tab:gray", "x"))
            ns = [n for n, _ in points]
            med = [f["median"] for _, f in points]
            err = [[f["median"] - f["min"] for _, f in points],
                   [f["max"] - f["median"] for _, f in points]]
            ax.errorbar(ns, med, yerr=err, color=color, marker=marker, capsize=3, label=tool,
                        linestyle="--" if tool == "floor" else "-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(scenario)
        ax.set_xlabel("N files")
        ax.set_ylabel("median wall s")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(6, len(labels)), frameon=False)
    fig.text(0.5, 0.005, subtitle, ha="center", va="bottom", fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    fig.savefig(path, dpi=90)
    plt.close(fig)
