"""Heartbeat latency and throughput against concurrency: servers, raw limit, WordPress.

    .venv/bin/python bench/plot.py [bench/out/heartbeat.json] [-o PNG]

Reads what bench/heartbeat.py wrote; the default PNG is docs/bench/heartbeat-latency.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "bench" / "heartbeat-latency.png"
COLOURS = {"granian": "tab:blue", "gunicorn": "tab:green", "gthread": "tab:purple"}


def plot(results: Path, out: Path = DEFAULT_OUT) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    data = json.loads(results.read_text())
    fig, (ax, ax_rps) = plt.subplots(1, 2, figsize=(12, 4.8))
    series: dict[tuple[str, str], list[dict]] = {}
    for run in data["runs"]:
        series.setdefault((run["server"], run["client"]), []).append(run)
    for (server, client), runs in series.items():
        runs.sort(key=lambda r: r["connections"])
        conns = [r["connections"] for r in runs]
        style = "-" if client == "keep-alive" else "--"
        colour = COLOURS.get(server, "tab:gray")
        label = f"{server}, {client}"
        ax.plot(conns, [r["wrk"]["p99_ms"] for r in runs], style, marker="o", color=colour,
                label=label)
        ax_rps.plot(conns, [r["wrk"]["rps"] for r in runs], style, marker="o", color=colour,
                    label=label)
    wp_runs = sorted(data.get("wordpress", {}).get("runs", []), key=lambda r: r["connections"])
    if wp_runs:
        conns = [r["connections"] for r in wp_runs]
        label = "WordPress plugin (admin-ajax), keep-alive"
        ax.plot(conns, [r["wrk"]["p99_ms"] for r in wp_runs], "-.", marker="^",
                color="tab:brown", label=label)
        ax_rps.plot(conns, [r["wrk"]["rps"] for r in wp_runs], "-.", marker="^",
                    color="tab:brown", label=label)
    raw_conns = sorted(int(c) for c in data["raw"])
    for mode, colour in (("min", "tab:orange"), ("locked", "tab:red")):
        if raw_conns and all(mode in data["raw"][str(c)] for c in raw_conns):
            label = f"raw PyMySQL, {mode}"
            ax.plot(raw_conns, [data["raw"][str(c)][mode]["p99_ms"] for c in raw_conns], ":",
                    marker="s", color=colour, label=label)
            ax_rps.plot(raw_conns, [data["raw"][str(c)][mode]["rps"] for c in raw_conns],
                        ":", marker="s", color=colour, label=label)
    levels = sorted({r["connections"] for r in data["runs"]})
    for axis, ylabel, title in ((ax, "p99 latency, ms", "Heartbeat p99 latency"),
                                (ax_rps, "heartbeats per second", "Throughput")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel(ylabel)
        axis.set_title(title)
        if axis is ax and wp_runs:
            # WordPress's p99 is an order of magnitude above the rest.
            axis.set_yscale("log")
            plain = FuncFormatter(lambda value, _pos: f"{value:g}")
            axis.yaxis.set_major_formatter(plain)
            axis.yaxis.set_minor_formatter(plain)
            axis.set_ylabel(ylabel + " (log scale)")
        else:
            axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    m = data["machine"]
    against = "the raw PyMySQL limit" + (" and a WordPress plugin" if wp_runs else "")
    fig.suptitle(f"autowebinar-wp heartbeat: servers vs {against} - {m['cores']} "
                 f"cores, MariaDB {m['mariadb'].split('-')[0]}", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="?", default=str(ROOT / "bench" / "out" / "heartbeat.json"))
    p.add_argument("-o", "--out", default=str(DEFAULT_OUT))
    args = p.parse_args()
    print(plot(Path(args.results), Path(args.out)))


if __name__ == "__main__":
    main()
