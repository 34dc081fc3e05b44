"""Latency (p50/p95/p99) against concurrency, sidecar and raw, from bench/out/heartbeat.json.

    .venv/bin/python bench/plot.py [bench/out/heartbeat.json] [-o PNG]

The default PNG is docs/bench/heartbeat-latency.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "bench" / "heartbeat-latency.png"


def plot(results: Path, out: Path = DEFAULT_OUT) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(results.read_text())
    levels = [lv for lv in data["levels"] if "raw" in lv]
    conns = [lv["connections"] for lv in levels]
    fig, (ax, ax_rps) = plt.subplots(1, 2, figsize=(11, 4.5))
    styles = {"p50": ":", "p95": "--", "p99": "-"}
    for side, colour in (("sidecar", "tab:blue"), ("raw", "tab:orange")):
        for pct, style in styles.items():
            ax.plot(conns, [lv[side][f"{pct}_ms"] for lv in levels], style, marker="o",
                    color=colour, label=f"{side} {pct}")
        ax_rps.plot(conns, [lv[side]["rps"] for lv in levels], marker="o", color=colour,
                    label=side)
    ax.set_xscale("log", base=2)
    ax.set_xticks(conns, [str(c) for c in conns])
    ax.set_xlabel("concurrent connections")
    ax.set_ylabel("latency, ms")
    ax.set_title("Heartbeat latency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax_rps.set_xscale("log", base=2)
    ax_rps.set_xticks(conns, [str(c) for c in conns])
    ax_rps.set_xlabel("concurrent connections")
    ax_rps.set_ylabel("heartbeats per second")
    ax_rps.set_ylim(bottom=0)
    ax_rps.set_title("Throughput")
    ax_rps.grid(True, alpha=0.3)
    ax_rps.legend(fontsize=8)
    m = data["machine"]
    fig.suptitle(f"autowebinar-wp heartbeat: sidecar (gunicorn {data['config']['workers']}x"
                 f"{data['config']['threads']}) vs raw PyMySQL - {m['cores']} cores, "
                 f"MariaDB {m['mariadb'].split('-')[0]}", fontsize=10)
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
