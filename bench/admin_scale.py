"""Admin queries at scale: the funnel and a page of the per-user table at 10k, 100k, 1M users.

    .venv/bin/python bench/admin_scale.py [--sizes 10000,100000,1000000] [--reuse]
                                              [--buffer-pool-mb 1024] [--plot]

For each size it builds (or, with --reuse, keeps) a WordPress-shaped `s<N>_usermeta` table in
its own database: WordPress's exact DDL, a dozen-plus ordinary WordPress keys per user
(tests/wordpress_fixtures.wordpress_meta) and AutoWebinar state in every stage of the funnel
(no session, created but never opened, waiting room, every milestone, completed, CTA), with
1 % duplicated rows and a few garbage values, loaded with LOAD DATA LOCAL INFILE.

Then it times, warm, the minimum and median of --repeat runs of:
  * funnel          - admin.funnel(): the dashboard's funnel, one statement
  * page last_seen  - admin.progress_page(): page 1 sorted by last seen, desc (3 statements)
  * page 20         - the same, page 20
  * page user_id    - page 1 sorted by user id
  * export batch    - one CSV batch of 500 users
and, in the same run, the floor those queries cannot go below without a new index:
  * floor: read 6 keys   - reading meta_value of the six keys' rows through KEY meta_key
  * floor: read 1 key    - the same for last_seen_at only (what a sort must read)
It prints the ratios query/floor and how each cost grows from one size to the next, and
writes bench/out/admin_scale.json (and docs/bench/admin-scale.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autowebinar_wp import admin  # noqa: E402
from autowebinar_wp.db import make_engine  # noqa: E402
from autowebinar_wp.store import usermeta_table  # noqa: E402
from tests.wordpress_fixtures import WP_USERMETA_DDL, wordpress_meta  # noqa: E402

OUT = ROOT / "bench" / "out"
PLOT = ROOT / "docs" / "bench" / "admin-scale.png"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S"
DURATION = 3600
AW_KEYS = ("autowebinar_session_id", "autowebinar_started_at", "autowebinar_last_seen_at",
           "autowebinar_progress_percent", "autowebinar_completed", "autowebinar_cta_clicked_at")


def autowebinar_rows(uid: int, rng: random.Random) -> list[tuple[int, str, str]]:
    """One user's AutoWebinar rows, in a funnel stage drawn at random."""
    if rng.random() < 0.2:
        return []  # registered, never given a session
    started = T0 + timedelta(seconds=rng.randrange(0, 300 * 86400))
    rows = {"autowebinar_session_id": f"{uid:08x}-0000-4000-8000-{uid:012x}",
            "autowebinar_started_at": started.strftime(FMT),
            "autowebinar_last_position_sec": "0", "autowebinar_progress_percent": "0",
            "autowebinar_completed": "0"}
    stage = rng.random()
    if stage < 0.15:
        pass  # created by Core, never opened
    elif stage < 0.20:  # the waiting room
        rows["autowebinar_last_seen_at"] = (
            started - timedelta(seconds=rng.randrange(1, 600))).strftime(FMT)
    else:
        pos = rng.choice([rng.randrange(0, DURATION), DURATION, rng.randrange(DURATION // 2,
                                                                               DURATION)])
        progress = 100 if pos >= DURATION - 1 else max(
            m for m in (0, 25, 50, 75) if pos * 100 >= m * DURATION)
        rows["autowebinar_last_position_sec"] = str(pos)
        rows["autowebinar_progress_percent"] = str(progress)
        rows["autowebinar_completed"] = "1" if progress == 100 else "0"
        seen = started + timedelta(seconds=pos + rng.randrange(0, 86400))
        rows["autowebinar_last_seen_at"] = seen.strftime(FMT)
        if pos >= DURATION * 0.6 and rng.random() < 0.4:
            rows["autowebinar_cta_clicked_at"] = (
                started + timedelta(seconds=int(DURATION * 0.6) + 5)).strftime(FMT)
    out = [(uid, k, v) for k, v in rows.items()]
    if rng.random() < 0.01:  # a duplicate row, as two racing update_user_meta() leave
        out.append(rng.choice(out))
    if rng.random() < 0.002:  # a hand-edited value
        out = [(u, k, "abc" if k == "autowebinar_progress_percent" else v) for u, k, v in out]
    return out


def tsv(value: str | None) -> str:
    if value is None:
        return r"\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def connect(database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", user="root", database=database, autocommit=True,
                           local_infile=True, charset="utf8mb4")


def build(db: str, size: int) -> tuple[int, float]:
    """Create s<size>_usermeta and fill it; returns (rows, seconds)."""
    table = f"s{size}_usermeta"
    started = time.perf_counter()
    rng = random.Random(size)
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(WP_USERMETA_DDL.format(prefix=f"s{size}_"))
    rows = 0
    chunk = 200_000
    for first in range(1, size + 1, chunk):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False,
                                         encoding="utf-8") as handle:
            for uid in range(first, min(first + chunk, size + 1)):
                for user_id, key, value in wordpress_meta(uid) + autowebinar_rows(uid, rng):
                    handle.write(f"{user_id}\t{key}\t{tsv(value)}\n")
                    rows += 1
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
                    "(user_id, meta_key, meta_value)", (handle.name,))
        finally:
            os.unlink(handle.name)
        print(f"    {min(first + chunk - 1, size):>9} users loaded", file=sys.stderr)
    with conn.cursor() as cur:
        cur.execute(f"ANALYZE TABLE {table}")
        cur.fetchall()
    conn.close()
    return rows, time.perf_counter() - started


def existing_rows(db: str, size: int) -> int | None:
    conn = connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT TABLE_ROWS FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (db, f"s{size}_usermeta"))
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(f"SELECT COUNT(*) FROM s{size}_usermeta")  # noqa: S608
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm the buffer pool and the statement caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {"min_ms": round(min(samples), 1), "median_ms": round(statistics.median(samples), 1)}


def measure(db: str, size: int, repeat: int) -> dict[str, Any]:
    engine = make_engine(f"mysql+pymysql://root@127.0.0.1:3306/{db}", pool_size=1)
    table = usermeta_table(f"s{size}_")
    keys = ", ".join(f"'{k}'" for k in AW_KEYS)
    results: dict[str, Any] = {}
    with engine.connect() as conn:
        def sql(statement: str) -> Callable[[], Any]:
            return lambda: conn.exec_driver_sql(statement).all()

        name = table.name
        results["floor: read 6 keys"] = timed(sql(
            f"SELECT COUNT(meta_value) FROM {name} FORCE INDEX (meta_key) "  # noqa: S608
            f"WHERE meta_key IN ({keys})"), repeat)
        results["floor: read 1 key"] = timed(sql(
            f"SELECT COUNT(meta_value) FROM {name} FORCE INDEX (meta_key) "  # noqa: S608
            "WHERE meta_key = 'autowebinar_last_seen_at'"), repeat)
        results["funnel"] = timed(lambda: admin.funnel(conn, table), repeat)
        results["page last_seen"] = timed(
            lambda: admin.progress_page(conn, table, page=1, per_page=50), repeat)
        results["page 20 last_seen"] = timed(
            lambda: admin.progress_page(conn, table, page=20, per_page=50), repeat)
        results["page user_id"] = timed(
            lambda: admin.progress_page(conn, table, page=1, per_page=50, sort="user_id"),
            repeat)
        results["export batch"] = timed(
            lambda: admin.export_batch(conn, table, size // 2, admin.EXPORT_BATCH), repeat)
        funnel = admin.funnel(conn, table)
    engine.dispose()
    results["funnel_values"] = funnel.to_dict()
    return results


def set_buffer_pool(megabytes: int | None) -> int:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@innodb_buffer_pool_size")
        before = int(cur.fetchone()[0])
        if megabytes:
            cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {int(megabytes) * 1024 * 1024}")
    conn.close()
    return before


def report(all_results: dict[int, dict[str, Any]], targets: bool = True) -> None:
    sizes = sorted(all_results)
    names = [n for n in all_results[sizes[0]] if n != "funnel_values"]
    head = f"{'query (min / median ms)':24}" + "".join(f"{s:>22,}" for s in sizes)
    print("\n" + head + "\n" + "-" * len(head))
    for name in names:
        cells = "".join(
            f"{all_results[s][name]['min_ms']:>12,.1f} / {all_results[s][name]['median_ms']:>7,.1f}"
            for s in sizes)
        print(f"{name:24}{cells}")
    print("\nratio to the floor (min/min):")
    for name, floor in (("funnel", "floor: read 6 keys"), ("page last_seen", "floor: read 1 key")):
        ratios = "".join(
            f"{all_results[s][name]['min_ms'] / all_results[s][floor]['min_ms']:>22.2f}"
            for s in sizes)
        print(f"  {name + ' / ' + floor:40}{ratios}")
    if len(sizes) > 1:
        print("\ngrowth from one size to the next (min/min):")
        for name in names:
            steps = [all_results[b][name]["min_ms"] / max(all_results[a][name]["min_ms"], 0.01)
                     for a, b in zip(sizes, sizes[1:], strict=False)]
            print(f"  {name:24}" + "".join(f"  x{step:6.1f}" for step in steps)
                  + f"   (users x{sizes[1] // sizes[0]} per step)")
    if targets and 100_000 in all_results:
        r = all_results[100_000]
        print(f"\ntargets at 100k: funnel < 1000 ms: {r['funnel']['min_ms']:.0f} ms "
              f"({'met' if r['funnel']['min_ms'] < 1000 else 'NOT met'}); page < 100 ms: "
              f"{r['page last_seen']['min_ms']:.0f} ms "
              f"({'met' if r['page last_seen']['min_ms'] < 100 else 'NOT met'})")


def plot(all_results: dict[int, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(all_results)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for name, style in (("funnel", "o-"), ("page last_seen", "s-"), ("page user_id", "^-"),
                        ("export batch", "d-"), ("floor: read 6 keys", "o:"),
                        ("floor: read 1 key", "s:")):
        ax.plot(sizes, [all_results[s][name]["min_ms"] for s in sizes], style, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("WordPress users")
    ax.set_ylabel("time, ms (min of runs, warm)")
    ax.set_title("Admin queries against population size (MariaDB 10.11, 2 vCPU)")
    ax.axhline(1000, color="grey", lw=0.6, ls="--")
    ax.axhline(100, color="grey", lw=0.6, ls="--")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"plot: {PLOT.relative_to(ROOT)}")


def main() -> None:
    import logging

    # a few hand-edited values are part of the population: their warnings are expected
    logging.getLogger("autowebinar_wp").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--db", default="awbench_admin")
    parser.add_argument("--reuse", action="store_true",
                        help="keep populations between runs (build only what is missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--buffer-pool-mb", type=int, default=None,
                        help="set innodb_buffer_pool_size for the run (restored afterwards)")
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    server = connect()
    with server.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{args.db}` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_unicode_520_ci")
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
    server.close()
    before = set_buffer_pool(args.buffer_pool_mb)
    pool_mb = (args.buffer_pool_mb or before // 1024 // 1024)
    print(f"MariaDB {version}, innodb_buffer_pool_size {pool_mb} MB, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    all_results: dict[int, dict[str, Any]] = {}
    built: dict[int, dict[str, float]] = {}
    try:
        for size in sizes:
            have = existing_rows(args.db, size) if args.reuse else None
            if have:
                print(f"{size:,} users: reusing s{size}_usermeta ({have:,} rows)")
            else:
                print(f"{size:,} users: building s{size}_usermeta …")
                rows, seconds = build(args.db, size)
                built[size] = {"rows": rows, "seconds": round(seconds, 1)}
                print(f"  {rows:,} rows in {seconds:.1f} s")
            all_results[size] = measure(args.db, size, args.repeat)
            print(f"  funnel {all_results[size]['funnel']['min_ms']:.1f} ms, "
                  f"page {all_results[size]['page last_seen']['min_ms']:.1f} ms")
    finally:
        if args.buffer_pool_mb:
            set_buffer_pool(before // 1024 // 1024)
        if args.drop:
            server = connect()
            with server.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{args.db}`")
            server.close()
    report(all_results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "admin_scale.json").write_text(json.dumps(
        {"mariadb": version, "buffer_pool_mb": pool_mb, "built": built,
         "results": {str(k): v for k, v in all_results.items()}}, indent=2))
    if args.plot:
        plot(all_results)


if __name__ == "__main__":
    main()
