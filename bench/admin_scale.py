"""Admin at scale: before (SQL per view) and after (a paced scan into a snapshot), 10k-1M users.

    .venv/bin/python bench/admin_scale.py [--sizes 10000,100000,1000000] [--reuse]
        [--buffer-pool-mb 1024] [--before-sizes 10000,100000] [--export-sizes 10000,100000]
        [--plot]

For each size it builds (or, with --reuse, keeps) a WordPress-shaped `s<N>_usermeta` table in
its own database: WordPress's exact DDL, a dozen-plus ordinary WordPress keys per user
(tests/wordpress_fixtures.wordpress_meta) and AutoWebinar state in every funnel stage, with
1 % duplicated rows and a few garbage values, loaded with LOAD DATA LOCAL INFILE.

In the same run it measures (minimum of --repeat runs, warm):
  * floors: reading one key's values through KEY meta_key (what a sort by value must
    read), six keys the same way (what the old funnel read), and the values of all seven
    AutoWebinar keys by a primary-key scan (what the new scan reads);
  * before: the previous SQL (bench/admin_before.py) - the funnel, a page by last seen,
    a page by user id;
  * after: the snapshot rebuild (reports.tally, paced as configured, and without pauses),
    then every admin view through the app, served from that snapshot: the funnel, the
    retention curve, the first page in each sort and order; the CSV export's rows/s and
    the peak of Python memory while it streams;
  * the site's side: a separate process reading one random user's meta in a loop (the
    query WordPress's update_meta_cache runs), its p50/p99 latency alone and while a
    rebuild (paced, unpaced) or the old funnel runs.
It prints the numbers, the ratios to the floors and the targets, and writes
bench/out/admin_scale.json (and docs/bench/admin-scale.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autowebinar_wp import create_app, reports, tokens  # noqa: E402
from autowebinar_wp.db import make_engine  # noqa: E402
from autowebinar_wp.services import services  # noqa: E402
from autowebinar_wp.store import usermeta_table  # noqa: E402
from bench import admin_before as before  # noqa: E402
from tests.wordpress_fixtures import WP_USERMETA_DDL, wordpress_meta  # noqa: E402

OUT = ROOT / "bench" / "out"
PLOT = ROOT / "docs" / "bench" / "admin-scale.png"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S"
DURATION, CTA_AT = 3600, 2160
SECRET = "bench-admin-secret-0123456789abcdef0123456789"
AW_KEYS = ("autowebinar_session_id", "autowebinar_started_at", "autowebinar_last_seen_at",
           "autowebinar_progress_percent", "autowebinar_completed", "autowebinar_cta_clicked_at")
ALL_KEYS = (*AW_KEYS, "autowebinar_last_position_sec")


# ---- the population ----------------------------------------------------------------------------


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
            if cur.fetchone() is None:
                return None
            cur.execute(f"SELECT COUNT(*) FROM s{size}_usermeta")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


# ---- timing --------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Minimum and median of `repeat` warm runs; a run over 5 s is its own warm-up (1M)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = [first] if first > 5 else []
    for _ in range(repeat if first <= 5 else max(0, repeat - 2)):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    ms = [s * 1000 for s in samples]
    return {"min_ms": round(min(ms), 1), "median_ms": round(statistics.median(ms), 1)}


# ---- the site's side: a read loop in its own process -------------------------------------------


def _read_loop(db: str, table: str, max_uid: int, stop: Any, out: Any) -> None:
    conn = connect(db)
    rng = random.Random(os.getpid())
    latencies = []
    with conn.cursor() as cur:
        while not stop.is_set():
            uid = rng.randint(1, max_uid)
            started = time.perf_counter()
            # what WordPress's update_meta_cache() runs for get_user_meta() (meta.php:1172)
            cur.execute(f"SELECT user_id, meta_key, meta_value FROM {table} "
                        "WHERE user_id IN (%s) ORDER BY umeta_id ASC", (uid,))
            cur.fetchall()
            latencies.append(time.perf_counter() - started)
    conn.close()
    out.put(latencies)


def site_latency(db: str, size: int, during: Callable[[], Any] | None,
                 idle_sec: float = 4.0) -> dict[str, float]:
    """p50/p99 of the read loop while `during` runs (or for idle_sec with nothing else)."""
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    reader = context.Process(target=_read_loop, args=(db, f"s{size}_usermeta", size, stop, out))
    reader.start()
    time.sleep(1.0)  # connected and warm before the window opens
    out_start = time.perf_counter()
    if during is None:
        time.sleep(idle_sec)
    else:
        during()
    window = time.perf_counter() - out_start
    stop.set()
    latencies = sorted(out.get(timeout=60))
    reader.join(10)
    ms = [x * 1000 for x in latencies[len(latencies) // 10:]]  # drop the warm-up's share
    return {"reads": len(ms), "reads_per_sec": round(len(ms) / window, 1),
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
            "max_ms": round(ms[-1], 2)}


# ---- one size ------------------------------------------------------------------------------


def app_for(db: str, size: int, instance: str, pause: float) -> Any:
    return create_app({
        "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1:3306/{db}",
        "TABLE_PREFIX": f"s{size}_", "EMBED_SECRET": SECRET,
        "VIDEO_DURATION_SEC": DURATION, "CTA_AT_SEC": CTA_AT, "LOCALE": "en",
        "ADMIN_SCAN_PAUSE": pause, "LOG_LEVEL": "ERROR",
    }, instance_path=instance)


def measure(db: str, size: int, repeat: int, with_before: bool, with_export: bool,
            with_site: bool) -> dict[str, Any]:
    url = f"mysql+pymysql://root@127.0.0.1:3306/{db}"
    # the floors and the old SQL are single queries of up to a minute at 1M users; the app
    # (below) keeps the default DATABASE_TIMEOUT_SEC, which its scan batches stay far under
    engine = make_engine(url, pool_size=1, timeout_sec=600)
    table = usermeta_table(f"s{size}_")
    name = table.name
    r: dict[str, Any] = {}
    keys6 = ", ".join(f"'{k}'" for k in AW_KEYS)
    keys7 = ", ".join(f"'{k}'" for k in ALL_KEYS)
    with engine.connect() as conn:
        def sql(statement: str) -> Callable[[], Any]:
            return lambda: conn.exec_driver_sql(statement).all()

        r["floor: read 1 key"] = timed(sql(
            f"SELECT COUNT(meta_value) FROM {name} FORCE INDEX (meta_key) "
            "WHERE meta_key = 'autowebinar_last_seen_at'"), repeat)
        r["floor: primary-key scan"] = timed(sql(
            f"SELECT COUNT(meta_value) FROM {name} FORCE INDEX (PRIMARY) "
            f"WHERE meta_key IN ({keys7})"), repeat)
        r["rows: 1 key"], r["rows: 7 keys"] = (int(v) for v in conn.exec_driver_sql(
            f"SELECT SUM(meta_key = 'autowebinar_last_seen_at'), COUNT(*) FROM {name} "
            f"WHERE meta_key IN ({keys7})").one())
        if with_before:
            r["floor: read 6 keys"] = timed(sql(
                f"SELECT COUNT(meta_value) FROM {name} FORCE INDEX (meta_key) "
                f"WHERE meta_key IN ({keys6})"), repeat)
            r["before: funnel"] = timed(lambda: before.funnel(conn, table), repeat)
            r["before: page last_seen"] = timed(
                lambda: before.progress_page(conn, table, page=1, per_page=50), repeat)
            r["before: page user_id"] = timed(
                lambda: before.progress_page(conn, table, page=1, per_page=50,
                                             sort="user_id"), repeat)
            r["before: funnel values"] = list(before.funnel(conn, table))

    runs: list[reports.ScanStats] = []

    def unpaced() -> None:
        runs.append(reports.ScanStats())
        reports.tally(engine, table, DURATION, reports.Pace(pause_ratio=0), stats=runs[-1])

    r["after: recompute, no pauses"] = timed(unpaced, repeat)
    stats = runs[-1]
    r["scan stats (no pauses)"] = {"batches": stats.batches, "odd_users": stats.odd_users,
                                   "max_rss_mb": resource.getrusage(
                                       resource.RUSAGE_SELF).ru_maxrss // 1024}

    with tempfile.TemporaryDirectory() as instance:
        app = app_for(db, size, instance, reports.Pace().pause_ratio)
        snapshots = services(app).snapshots
        built: list[Any] = []
        r["after: recompute (paced, default)"] = timed(
            lambda: built.append(snapshots.rebuild()), max(1, repeat - 1))
        snapshot = built[-1]
        r["after: funnel values"] = dict(snapshot.funnel.stages())
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens.mint(SECRET, 1, 'admin', 3600)}"}

        def view(path: str, **params: Any) -> Callable[[], Any]:
            def call() -> Any:
                response = client.get(path, headers=headers, query_string=params)
                assert response.status_code == 200, response.get_data(as_text=True)
                return response.get_json()
            return call

        r["view: funnel"] = timed(view("/api/v1/admin/funnel"), repeat)
        r["view: retention"] = timed(view("/api/v1/admin/retention", bucket_sec=60), repeat)
        for sort in reports.SORTS:
            for order in ("desc", "asc"):
                r[f"view: page 1 {sort} {order}"] = timed(
                    view("/api/v1/admin/progress", sort=sort, order=order), repeat)
        r["view: page 1000 last_seen desc"] = timed(
            view("/api/v1/admin/progress", page=1000 if size >= 50_000 else 10), repeat)
        if with_export:
            r["export"] = export(client, headers)
        if with_site:
            r["site: idle"] = site_latency(db, size, None)
            r["site: during a recompute (paced)"] = site_latency(db, size, snapshots.rebuild)
            r["site: during a recompute (no pauses)"] = site_latency(
                db, size, lambda: reports.tally(engine, table, DURATION,
                                                reports.Pace(pause_ratio=0)))
            if with_before:
                def old_funnel() -> None:
                    with engine.connect() as conn:
                        before.funnel(conn, table)
                r["site: during the old funnel"] = site_latency(db, size, old_funnel)
        services(app).engine.dispose()
    engine.dispose()
    return r


def export(client: Any, headers: dict[str, str]) -> dict[str, float]:
    """Stream the whole CSV twice: once timed (rows/s), once under tracemalloc (which slows
    Python down several times) for the peak of Python memory while it streams."""

    def stream() -> tuple[int, float]:
        started = time.perf_counter()
        response = client.get("/admin/export.csv", headers=headers, buffered=False)
        lines = 0
        for chunk in response.response:
            lines += (chunk if isinstance(chunk, str) else chunk.decode()).count("\r\n")
        return lines - 1, time.perf_counter() - started

    rows, seconds = min((stream() for _ in range(2)), key=lambda run: run[1])
    tracemalloc.start()
    stream()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_sec": round(rows / seconds),
            "peak_python_mb": round(peak / 2**20, 1)}


# ---- report -------------------------------------------------------------------------------------


def set_buffer_pool(megabytes: int | None) -> int:
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@innodb_buffer_pool_size")
        previous = int(cur.fetchone()[0])
        if megabytes:
            cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {int(megabytes) * 1024 * 1024}")
    conn.close()
    return previous


def ms(entry: Any) -> float:
    return float(entry["min_ms"])


def report(results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)
    names = sorted({n for r in results.values() for n, v in r.items()
                    if isinstance(v, dict) and "min_ms" in v},
                   key=lambda n: (not n.startswith("floor"), not n.startswith("before"),
                                  not n.startswith("after"), n))
    head = f"{'min / median ms':38}" + "".join(f"{s:>24,}" for s in sizes)
    print("\n" + head + "\n" + "-" * len(head))
    for name in names:
        cells = "".join(
            f"{ms(results[s][name]):>12,.1f} / {results[s][name]['median_ms']:>9,.1f}"
            if name in results[s] else f"{'—':>24}" for s in sizes)
        print(f"{name:38}{cells}")
    print("\nper AutoWebinar row (µs):")
    for s in sizes:
        r = results[s]
        one = ms(r["floor: read 1 key"]) * 1000 / r["rows: 1 key"]
        scan = ms(r["floor: primary-key scan"]) * 1000 / r["rows: 7 keys"]
        tally = ms(r["after: recompute, no pauses"]) * 1000 / r["rows: 7 keys"]
        print(f"  {s:>9,} users: floor one key {one:.2f}, floor scan {scan:.2f}, "
              f"recompute {tally:.2f} (x{tally / one:.2f} the one-key floor)")
    for s in sizes:
        r = results[s]
        worst = max((n for n in r if n.startswith("view:")), key=lambda n: ms(r[n]))
        print(f"\n{s:,} users: slowest view from the snapshot: {worst} {ms(r[worst]):.1f} ms")
        scan = r["scan stats (no pauses)"]
        print(f"  rebuild: {scan['batches']} batches, {scan['odd_users']} users decoded by codec, "
              f"process max RSS so far {scan['max_rss_mb']} MB")
        if "export" in r:
            e = r["export"]
            print(f"  export: {e['rows']:,} rows in {e['seconds']} s = "
                  f"{e['rows_per_sec']:,} rows/s, peak Python memory {e['peak_python_mb']} MB")
        for name in [n for n in r if n.startswith("site:")]:
            v = r[name]
            print(f"  {name:40} p50 {v['p50_ms']:>7.2f} ms  p99 {v['p99_ms']:>7.2f} ms  "
                  f"max {v['max_ms']:>8.2f} ms  ({v['reads_per_sec']:,.0f} reads/s)")
    print("\ntargets:")
    if 100_000 in results:
        r = results[100_000]
        fresh = ms(r["after: recompute, no pauses"])
        paced = ms(r["after: recompute (paced, default)"])
        print(f"  100k: fresh funnel < 1 s: {fresh:,.0f} ms unpaced, {paced:,.0f} ms paced "
              f"({'met' if fresh < 1000 else 'NOT met'})")
    if 1_000_000 in results:
        r = results[1_000_000]
        worst = max(ms(r[n]) for n in r if n.startswith("view:"))
        paced = ms(r["after: recompute (paced, default)"])
        print(f"  1M: every view from the snapshot < 1 s: slowest {worst:,.0f} ms "
              f"({'met' if worst < 1000 else 'NOT met'})")
        print(f"  1M: fresh recompute < 15 s: {paced / 1000:,.1f} s paced, "
              f"{ms(r['after: recompute, no pauses']) / 1000:,.1f} s unpaced "
              f"({'met' if paced < 15000 else 'NOT met'})")
    exports = [results[s]["export"] for s in sizes if "export" in results[s]]
    if exports:
        slowest = min(e["rows_per_sec"] for e in exports)
        print(f"  export >= 20,000 rows/s: slowest {slowest:,} rows/s "
              f"({'met' if slowest >= 20000 else 'NOT met'}); peak Python memory "
              + ", ".join(f"{e['peak_python_mb']} MB for {e['rows']:,} rows" for e in exports))


def plot(results: dict[int, dict[str, Any]], previous: dict[str, Any] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, ax = plt.subplots(figsize=(8, 5.2))

    def series(name: str, style: str, label: str, source: dict[int, Any]) -> None:
        points = [(s, ms(source[s][name])) for s in sizes if name in source.get(s, {})]
        if points:
            ax.plot(*zip(*points, strict=True), style, label=label)

    series("before: funnel", "o--", "before: funnel (SQL per view)", results)
    series("before: page last_seen", "s--", "before: page by last seen", results)
    if previous:  # sizes the old code was not re-run at (1M takes a minute)
        old = {int(k): v for k, v in previous["results"].items()}
        for name, style, label in (("funnel", "o:", "before: funnel (previous run)"),
                                   ("page last_seen", "s:", "before: page (previous run)")):
            points = [(s, float(old[s][name]["min_ms"])) for s in sizes
                      if s in old and name in old[s] and f"before: {name}" not in results[s]]
            if points:
                ax.plot(*zip(*points, strict=True), style, color="grey", label=label)
    series("after: recompute (paced, default)", "o-", "after: snapshot rebuild (paced)", results)
    series("after: recompute, no pauses", "o-.", "after: snapshot rebuild, no pauses", results)
    worst = {s: {"view": {"min_ms": max(ms(results[s][n]) for n in results[s]
                                        if n.startswith("view:"))}} for s in sizes}
    series("view", "^-", "after: slowest view from the snapshot", worst)
    series("floor: read 1 key", "x:", "floor: one key's values", results)
    series("floor: primary-key scan", "+:", "floor: all seven keys by a scan", results)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("WordPress users")
    ax.set_ylabel("time, ms (min of runs, warm)")
    ax.set_title("Admin views against population size (MariaDB 10.11, 2 vCPU, 1 GiB pool)")
    for line in (1000, 15000):
        ax.axhline(line, color="grey", lw=0.6, ls="--")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=7.5)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"plot: {PLOT.relative_to(ROOT)}")


def main() -> None:
    logging.getLogger("autowebinar_wp").setLevel(logging.ERROR)  # the garbage is expected
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--before-sizes", default="10000,100000",
                        help="sizes to time the old SQL at (at 1M it takes over a minute)")
    parser.add_argument("--export-sizes", default="10000,100000")
    parser.add_argument("--site-sizes", default="100000,1000000",
                        help="sizes to measure the site's read latency at")
    parser.add_argument("--db", default="awbench_admin")
    parser.add_argument("--reuse", action="store_true",
                        help="keep populations between runs (build only what is missing)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--buffer-pool-mb", type=int, default=None,
                        help="set innodb_buffer_pool_size for the run (restored afterwards)")
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args()

    def ints(text: str) -> list[int]:
        return [int(s) for s in text.split(",") if s]

    sizes = ints(args.sizes)
    server = connect()
    with server.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{args.db}` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_unicode_520_ci")
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
    server.close()
    previous_pool = set_buffer_pool(args.buffer_pool_mb)
    pool_mb = args.buffer_pool_mb or previous_pool // 2**20
    print(f"MariaDB {version}, innodb_buffer_pool_size {pool_mb} MB, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    results: dict[int, dict[str, Any]] = {}
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
            results[size] = measure(args.db, size, args.repeat,
                                    with_before=size in ints(args.before_sizes),
                                    with_export=size in ints(args.export_sizes),
                                    with_site=size in ints(args.site_sizes))
            r = results[size]
            print(f"  rebuild {ms(r['after: recompute (paced, default)']):,.0f} ms paced, "
                  f"funnel view {ms(r['view: funnel']):,.1f} ms")
            if "before: funnel values" in r:
                assert r["before: funnel values"] == list(r["after: funnel values"].values()), \
                    "the old SQL and the new scan disagree"
    finally:
        if args.buffer_pool_mb:
            set_buffer_pool(previous_pool // 2**20)
        if args.drop:
            server = connect()
            with server.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{args.db}`")
            server.close()
    report(results)
    OUT.mkdir(parents=True, exist_ok=True)
    stored = ROOT / "docs" / "bench" / "admin-scale-before.json"
    previous = json.loads(stored.read_text()) if stored.exists() else None
    (OUT / "admin_scale.json").write_text(json.dumps(
        {"mariadb": version, "buffer_pool_mb": pool_mb, "built": built,
         "pace": {"batch_ids": reports.Pace().batch_ids,
                  "pause_ratio": reports.Pace().pause_ratio},
         "results": {str(k): v for k, v in results.items()}}, indent=2))
    if args.plot:
        plot(results, previous)


if __name__ == "__main__":
    main()
