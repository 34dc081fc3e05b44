"""The heartbeat hot path in one thread, without HTTP: CPU and database round trips per request.

    .venv/bin/python bench/hotpath.py [--requests 5000] [--users 2000] [--profile]

The Flask app is called as a WSGI callable (no gunicorn, no sockets to the client), on a
MariaDB database of its own, one request at a time, so the numbers do not depend on what
else the machine runs: Python CPU per heartbeat (time.process_time), wall time per heartbeat
(CPU + the database round trips), and the round trips PyMySQL makes, by command. Every
optimisation in BENCHMARKS.md was measured with this before the wrk run.

A virtual clock advances HEARTBEAT_SEC / users per request and users are taken round-robin,
so every user's heartbeat comes exactly 10 s after its previous one and reports an honest
position: the steady state (one UPDATE of position + last_seen_at per heartbeat).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("AWBENCH_SRC"):  # a copy of the package to measure instead (see heartbeat.py)
    sys.path.insert(0, os.environ["AWBENCH_SRC"])

import pymysql  # noqa: E402

from autowebinar_wp import tokens  # noqa: E402
from bench.heartbeat import OUT, SECRET, Admin, seed_database  # noqa: E402

ROUND_TRIPS: Counter[str] = Counter()


def count_round_trips() -> None:
    """Count every command PyMySQL sends (COM_QUERY by first word, COM_PING, ...)."""
    from pymysql.connections import Connection
    from pymysql.constants import COMMAND

    names = {v: k for k, v in vars(COMMAND).items() if k.startswith("COM_")}
    original = Connection._execute_command

    def counting(self: Any, command: int, sql: Any) -> Any:
        if command == COMMAND.COM_QUERY:
            text = sql.decode() if isinstance(sql, bytes) else str(sql)
            ROUND_TRIPS[text.split(None, 1)[0].upper()] += 1
        else:
            ROUND_TRIPS[names.get(command, str(command))] += 1
        return original(self, command, sql)

    Connection._execute_command = counting  # type: ignore[method-assign]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def environ(path: str, token: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.version": (1, 0), "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Bearer {token}",
    }


def call(app: Any, path: str, token: str, body: bytes) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(s: str, _headers: Any, _exc: Any = None) -> None:
        status.append(s)

    result = app(environ(path, token, body), start_response)
    try:
        data = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0], data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--db", default="awhotpath")
    p.add_argument("--mysql-host", default="127.0.0.1")
    p.add_argument("--mysql-port", type=int, default=3306)
    p.add_argument("--profile", action="store_true", help="cProfile the measured loop")
    p.add_argument("--pyinstrument", action="store_true",
                   help="pyinstrument the measured loop (a call tree with less overhead)")
    p.add_argument("--label", default="", help="a name for this run in the JSON output")
    args = p.parse_args(argv)

    admin = Admin(args.mysql_host, args.mysql_port, "root", "")
    if admin.q("SELECT GET_LOCK(%s, 0)", (f"autowebinar-bench:{args.db}",))[0][0] != 1:
        sys.exit(f"another run is using database `{args.db}` on this server (--db to change)")
    seed_database(admin, args.db, args.users)
    count_round_trips()
    from autowebinar_wp.app import create_app
    from autowebinar_wp.services import services

    instance = tempfile.mkdtemp(prefix="awhotpath-")
    app = create_app({
        "DATABASE_URL": f"mysql+pymysql://root@{args.mysql_host}:{args.mysql_port}/{args.db}",
        "EMBED_SECRET": SECRET, "LOG_LEVEL": "WARNING", "VIDEO_DURATION_SEC": 36000,
        "HEARTBEAT_RATE_LIMIT": "1000000 per minute", "LOCALE": "en",
    }, instance_path=instance)
    clock = Clock()
    services(app).clock = clock
    users = list(range(1, args.users + 1))
    start = clock.now.timestamp()
    user_tokens = {u: tokens.mint(SECRET, u, "viewer", 6 * 3600, now=start) for u in users}
    positions: dict[int, int] = {}
    anchors: dict[int, str] = {}  # each user's latest anchor, echoed as the player does
    try:
        for uid in users:
            status, body = call(app, "/api/v1/session/join", user_tokens[uid], b"{}")
            assert status.startswith("200"), (status, body)
            joined = json.loads(body)
            positions[uid], anchors[uid] = joined["position_sec"], joined["anchor"]
        step = timedelta(seconds=10 / args.users)
        virtual = clock.now

        def heartbeat(i: int) -> tuple[str, bytes]:
            nonlocal virtual
            uid = users[i % len(users)]
            virtual += step
            clock.now = virtual.replace(microsecond=0)
            positions[uid] += 10 if i >= len(users) else 0
            body = json.dumps({"position_sec": positions[uid], "anchor": anchors[uid]})
            status, data = call(app, "/api/v1/session/heartbeat", user_tokens[uid],
                                body.encode())
            if status.startswith("200"):
                anchors[uid] = json.loads(data)["anchor"]
            return status, data

        for i in range(min(500, args.requests)):  # warm-up: caches, pool, imports
            heartbeat(i)
        ROUND_TRIPS.clear()
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        statuses: Counter[str] = Counter()
        clamped = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        sampler = None
        if args.pyinstrument:
            from pyinstrument import Profiler

            sampler = Profiler(interval=0.0005)
            sampler.start()
        if profiler:
            profiler.enable()
        for i in range(500, 500 + args.requests):
            status, body = heartbeat(i)
            statuses[status.split()[0]] += 1
            clamped += b'"clamped":true' in body
        if profiler:
            profiler.disable()
        if sampler:
            sampler.stop()
            (OUT / "hotpath-pyinstrument.txt").write_text(
                sampler.output_text(unicode=False, color=False, show_all=False))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        trips = dict(ROUND_TRIPS)
    finally:
        services(app).engine.dispose()
        admin.q(f"DROP DATABASE IF EXISTS `{args.db}`")
    n = args.requests
    import autowebinar_wp

    result = {
        "label": args.label, "src": str(Path(autowebinar_wp.__file__).parent),
        "requests": n, "statuses": dict(statuses), "clamped": clamped,
        "cpu_us_per_request": round(cpu / n * 1e6, 1),
        "wall_us_per_request": round(wall / n * 1e6, 1),
        "round_trips_per_request": {k: round(v / n, 3) for k, v in sorted(trips.items())},
        "round_trips_total_per_request": round(sum(trips.values()) / n, 3),
        "profiled": bool(profiler or sampler),
    }
    print(json.dumps(result, indent=2))
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "hotpath.jsonl", "a") as fh:
        fh.write(json.dumps(result) + "\n")
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(60)
        (OUT / "hotpath-profile.txt").write_text(stream.getvalue())
        profiler.dump_stats(str(OUT / "hotpath.pstats"))
        print(f"profile: {OUT / 'hotpath-profile.txt'}")
    return 0 if set(statuses) == {"200"} else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except pymysql.MySQLError as exc:
        sys.exit(f"database error: {exc}")
