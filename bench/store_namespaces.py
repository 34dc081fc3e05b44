"""The usermeta store with two namespaces: what the generalisation costs, what live costs.

    .venv/bin/python bench/store_namespaces.py [--ops 3000] [--users 1000] [--rounds 3]
                                               [--baseline-src DIR]

One thread, no HTTP, its own MariaDB database (`awstore_bench`, dropped at the end), users
with realistic WordPress meta. Each measurement runs in a fresh subprocess and reports
Python CPU (time.process_time) and wall time per operation:

* `aw_rmw`: AutoWebinar's heartbeat-shaped read-modify-write (GET_LOCK, one SELECT, one
  UPDATE of position + last seen, COMMIT, RELEASE_LOCK) through `UserMetaStore`, round
  robin over the users. With `--baseline-src DIR` (a copy of the package, e.g.
  `git archive main autowebinar_wp | tar -x -C DIR`) the same loop runs on that code too,
  alternating with this code for `--rounds` rounds on freshly seeded rows, and the ratio of
  the medians shows what binding the store to a namespace costs the hot path.
* `live_register`: a live registration that changes the slot (lock, read, two-key write).
* `live_again`: registering again for the same slot (one unlocked SELECT, no write).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB = "awstore_bench"


def measure(kind: str, url: str, ops: int, users: int) -> dict[str, float]:
    """Runs in the subprocess: one loop of `kind`, timed."""
    import dataclasses
    import time
    from datetime import UTC, datetime, timedelta

    from autowebinar_wp.db import make_engine
    from autowebinar_wp.state import State
    from autowebinar_wp.store import UserMetaStore

    engine = make_engine(url, pool_size=1)
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    if kind == "aw_rmw":
        store = UserMetaStore(engine, "wp_")

        def op(i: int) -> None:
            uid = 1 + i % users
            with store.transaction(uid) as conn:
                loaded = store.load(conn, uid)
                old = loaded.state
                now = start + timedelta(seconds=i)
                new = (State("00000000-0000-0000-0000-000000000001", start, 1, 0, False, None,
                             now) if old.session_id is None else
                       dataclasses.replace(old, last_position_sec=old.last_position_sec + 1,
                                           last_seen_at=now))
                store.save(conn, loaded, new)
    else:
        from autowebinar_wp.live import rules
        from autowebinar_wp.live.schedule import Slot
        from autowebinar_wp.live.store import live_store

        live = live_store(engine, "wp_", ("invited_by", "wh_ref", "ref"))
        slots = [Slot(s, start + timedelta(days=7 + n), timedelta(hours=1), "T",
                      "https://s.example/", False, "UTC", timedelta(minutes=10))
                 for n, s in enumerate(("a", "b"))]

        def op(i: int) -> None:
            uid = 1 + i % users
            chosen = slots[(i // users) % 2] if kind == "live_register" else slots[0]
            now = start + timedelta(seconds=i)
            if kind == "live_again" and live.read(uid).state.slot_id == chosen.id:
                return  # what service.register does first: an unlocked read, nothing to do
            with live.transaction(uid) as conn:
                loaded = live.load(conn, uid)
                live.save(conn, loaded, rules.register(loaded.state, chosen, now).state)

    for i in range(min(users, ops)):  # warm up: every user has state, pools are filled
        op(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(ops):
        op(users + i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    return {"cpu_us_per_op": round(cpu / ops * 1e6, 1),
            "wall_us_per_op": round(wall / ops * 1e6, 1)}


def run(kind: str, url: str, ops: int, users: int, src: str | None) -> dict[str, float]:
    env = dict(os.environ)
    paths = [str(ROOT)] + ([src] if src else [])
    env["PYTHONPATH"] = os.pathsep.join(reversed(paths))  # a baseline copy first
    code = ("import json, sys; from bench.store_namespaces import measure; "
            f"print(json.dumps(measure({kind!r}, {url!r}, {ops}, {users})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=str(ROOT))
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=3000)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--baseline-src", default=None, help="a copy of the package to compare")
    p.add_argument("--mysql-host", default="127.0.0.1")
    p.add_argument("--mysql-port", type=int, default=3306)
    args = p.parse_args(argv)

    from bench.heartbeat import Admin, seed_database

    admin = Admin(args.mysql_host, args.mysql_port, "root", "")
    seed_database(admin, DB, args.users)
    url = f"mysql+pymysql://root@{args.mysql_host}:{args.mysql_port}/{DB}"
    results: dict[str, object] = {"ops": args.ops, "users": args.users, "rounds": args.rounds}
    samples: dict[str, list[dict[str, float]]] = {}

    def sample(name: str, kind: str, src: str | None) -> None:
        samples.setdefault(name, []).append(run(kind, url, args.ops, args.users, src))

    try:
        for _ in range(args.rounds):
            if args.baseline_src:
                sample("aw_rmw_baseline", "aw_rmw", args.baseline_src)
                seed_database(admin, DB, args.users)  # the same starting rows for both
            sample("aw_rmw", "aw_rmw", None)
            sample("live_register", "live_register", None)
            sample("live_again", "live_again", None)
            seed_database(admin, DB, args.users)
    finally:
        admin.q(f"DROP DATABASE IF EXISTS `{DB}`")
    for name, runs in samples.items():
        results[name] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    if args.baseline_src:
        base, now = samples["aw_rmw_baseline"], samples["aw_rmw"]
        results["aw_rmw_cpu_ratio"] = round(
            statistics.median(r["cpu_us_per_op"] for r in now)
            / statistics.median(r["cpu_us_per_op"] for r in base), 3)
        results["aw_rmw_wall_ratio"] = round(
            statistics.median(r["wall_us_per_op"] for r in now)
            / statistics.median(r["wall_us_per_op"] for r in base), 3)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
