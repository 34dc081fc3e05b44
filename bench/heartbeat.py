"""Heartbeat benchmark: the production servers against the raw-SQL limit, in one run.

    .venv/bin/python bench/heartbeat.py [--duration 20] [--concurrency 8,32]
        [--servers granian,gunicorn,gthread] [--keepalive on,off] [--users 10000]
        [--wordpress [--wp-children 8]] [--profile] [--plot]

What it does (BENCHMARKS.md has the results and the reasoning):

1. Creates its own database (`awbench`) with WordPress's usermeta DDL and 10k users of
   realistic WordPress meta (bulk INSERT), and a database user holding exactly the grants
   migrations_none.md documents (SELECT, INSERT, UPDATE on the one table).
2. For each server (`autowebinar-wp serve --server NAME`, the CLI's default workers and
   threads unless given) with env configuration: the heartbeat rate limit is raised to
   1000000/minute, since the bench measures throughput, not the limiter's refusals (it still
   runs on every request).
3. Every user joins once (a Python client); then, per concurrency level and per client kind
   (keep-alive connections, or a new connection per request), `wrk` sends heartbeats for
   random users with honest positions (bench/heartbeat.lua).
4. In the same run and at the same concurrency, the raw limit through PyMySQL, as many
   processes as wrk has connections, one connection each, with the store's exact statement
   texts: **min** = SELECT + UPDATE + COMMIT (no lock: the least any honest heartbeat
   needs), and **locked** = GET_LOCK + SELECT + UPDATE + COMMIT + RELEASE_LOCK (the previous
   write path).
5. With --wordpress, in the same run, at the same levels (keep-alive): the heartbeat as a
   typical WordPress plugin does it (bench/wordpress.py): WordPress installed on the same
   database and users, each user logged in with real auth cookies, an admin-ajax POST handled
   by `wp_ajax_<action>` with get_user_meta()/update_user_meta(), nginx + php-fpm (opcache
   on), its own DB user (bench/heartbeat_wp.lua). Ratio = service rps / WordPress rps.
6. MariaDB's counters (SHOW GLOBAL STATUS: Questions, Com_*; USER_STATISTICS of each side's
   own DB user) before and after each window: statements per heartbeat next to req/s. CPU
   per request by process, peak RSS per server worker; a table on stdout, JSON in
   bench/out/heartbeat.json.

It drops its database and users at the end (--keep-db keeps the database).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pymysql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# AWBENCH_SRC=/some/dir: import autowebinar_wp from a copy of the package there (before/after
# comparisons of one optimisation); the server subprocess gets it through PYTHONPATH.
SRC = os.environ.get("AWBENCH_SRC")
if SRC:
    sys.path.insert(0, SRC)

from autowebinar_wp import tokens  # noqa: E402
from autowebinar_wp.session import SessionConfig  # noqa: E402
from tests.processes import children as child_pids  # noqa: E402
from tests.wordpress_fixtures import WP_USERMETA_DDL, wordpress_meta  # noqa: E402

OUT = ROOT / "bench" / "out"
LUA = ROOT / "bench" / "heartbeat.lua"
LUA_WP = ROOT / "bench" / "heartbeat_wp.lua"
PREFIX = "wp_"
TABLE = f"{PREFIX}usermeta"
REF_KEYS = ("invited_by", "wh_ref", "ref")
AW_KEYS = (
    "autowebinar_session_id", "autowebinar_started_at", "autowebinar_last_position_sec",
    "autowebinar_progress_percent", "autowebinar_completed", "autowebinar_cta_clicked_at",
    "autowebinar_last_seen_at",
)
HEARTBEATS_PER_VIEWER_MINUTE = 6  # HEARTBEAT_SEC = 10
LUA_COOLDOWN_SEC = 6  # COOLDOWN in heartbeat.lua
TOKEN_TTL_SEC = 6 * 3600  # longer than any run; below tokens.MAX_LIFETIME_SEC
VIDEO_DURATION_SEC = 3600
SECRET = "bench-embed-secret-" + "x" * 32

# The statements the store sends for one heartbeat, as PyMySQL receives them from SQLAlchemy
# (same text, same parameters, positional here). See store.py / migrations_none.md.
SQL_LOCK = "SELECT GET_LOCK(%s, %s)"
SQL_LOAD = (
    f"SELECT {TABLE}.meta_key, {TABLE}.meta_value \nFROM {TABLE} \n"
    f"WHERE {TABLE}.user_id = %s AND {TABLE}.meta_key IN "
    f"({', '.join(['%s'] * (len(AW_KEYS) + len(REF_KEYS)))}) ORDER BY {TABLE}.umeta_id"
)
SQL_SAVE = (
    f"UPDATE {TABLE} SET meta_value=CASE {TABLE}.meta_key WHEN %s THEN %s WHEN %s THEN %s END "
    f"WHERE {TABLE}.user_id = %s AND {TABLE}.meta_key IN (%s, %s)"
)
SQL_RELEASE = "DO RELEASE_LOCK(%s)"
RAW_MODES = ("min", "locked")

STATUS_KEYS = (
    "Questions", "Com_select", "Com_update", "Com_update_multi", "Com_insert", "Com_commit",
    "Com_rollback", "Com_do", "Com_admin_commands", "Bytes_received", "Bytes_sent",
    "Innodb_data_written", "Innodb_data_writes",
    "Innodb_os_log_written", "Innodb_log_writes", "Innodb_data_fsyncs", "Innodb_os_log_fsyncs",
    "Innodb_pages_written", "Handler_update", "Handler_read_key", "Handler_read_next",
)
USERSTAT_KEYS = (
    "TOTAL_CONNECTIONS", "BYTES_RECEIVED", "BYTES_SENT", "ROWS_READ", "ROWS_SENT",
    "ROWS_UPDATED", "ROWS_INSERTED",
    "SELECT_COMMANDS", "UPDATE_COMMANDS", "OTHER_COMMANDS", "COMMIT_TRANSACTIONS",
    "ROLLBACK_TRANSACTIONS", "BUSY_TIME", "CPU_TIME",
)


# ---- small helpers ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(round(pct / 100 * len(sorted_values))) - 1))
    return sorted_values[rank]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def proc_cpu_sec(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / clock_ticks()


def proc_status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def find_process(names: tuple[str, ...]) -> int | None:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in names:
                return int(comm.parent.name)
        except OSError:
            continue
    return None


def machine_cpu_sec() -> float:
    """Busy CPU time of the whole machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / clock_ticks()


def children_cpu_sec() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---- the database --------------------------------------------------------------------------


class Admin:
    """A root connection for set-up, status snapshots and clean-up."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self.params = {"host": host, "port": port, "user": user, "password": password}
        self.conn = pymysql.connect(**self.params, autocommit=True, charset="utf8mb4")

    def q(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def status(self) -> dict[str, int]:
        rows = self.q("SHOW GLOBAL STATUS")
        wanted = set(STATUS_KEYS)
        return {k: int(v) for k, v in rows if k in wanted}

    def userstat(self, user: str) -> dict[str, float] | None:
        try:
            with self.conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SELECT * FROM information_schema.USER_STATISTICS WHERE USER = %s",
                            (user,))
                row = cur.fetchone()
        except pymysql.MySQLError:
            return None
        if not row:
            return {k: 0.0 for k in USERSTAT_KEYS}
        return {k: float(row[k]) for k in USERSTAT_KEYS if k in row}


def seed_database(admin: Admin, db: str, users: int) -> int:
    admin.q(f"DROP DATABASE IF EXISTS `{db}`")
    admin.q(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
    conn = pymysql.connect(**admin.params, database=db, charset="utf8mb4", autocommit=False)
    rows = 0
    try:
        with conn.cursor() as cur:
            cur.execute(WP_USERMETA_DDL.format(prefix=PREFIX))
            batch: list[tuple[int, str, str | None]] = []
            for uid in range(1, users + 1):
                batch.extend(wordpress_meta(uid, PREFIX))
                if len(batch) >= 5000:
                    # PyMySQL turns executemany of an INSERT ... VALUES into multi-row INSERTs.
                    cur.executemany(f"INSERT INTO {TABLE} (user_id, meta_key, meta_value) "
                                    "VALUES (%s, %s, %s)", batch)
                    rows += len(batch)
                    batch = []
            if batch:
                cur.executemany(f"INSERT INTO {TABLE} (user_id, meta_key, meta_value) "
                                "VALUES (%s, %s, %s)", batch)
                rows += len(batch)
        conn.commit()
    finally:
        conn.close()
    return rows


def create_bench_user(admin: Admin, db: str, user: str, password: str) -> None:
    drop_bench_user(admin, user)
    admin.q(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
    # Exactly the grants migrations_none.md asks a DBA for.
    admin.q(f"GRANT SELECT, INSERT, UPDATE ON `{db}`.`{TABLE}` TO '{user}'@'127.0.0.1'")


def create_wordpress_user(admin: Admin, db: str, user: str, password: str) -> None:
    """WordPress's own DB user (all privileges on its database, as its installer asks), so
    that USER_STATISTICS counts its statements apart from the service's."""
    drop_bench_user(admin, user)
    admin.q(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
    admin.q(f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'127.0.0.1'")


def drop_bench_user(admin: Admin, user: str) -> None:
    admin.q(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")


# ---- the server -----------------------------------------------------------------------------


class Server:
    def __init__(self, args: argparse.Namespace, db_url: str, port: int, instance: str,
                 name: str) -> None:
        self.port, self.name = port, name
        env = dict(os.environ)
        env.update({
            "AUTOWEBINAR_DATABASE_URL": db_url,
            "AUTOWEBINAR_EMBED_SECRET": SECRET,
            "AUTOWEBINAR_LOG_LEVEL": "WARNING",
            "AUTOWEBINAR_VIDEO_DURATION_SEC": str(VIDEO_DURATION_SEC),
            "AUTOWEBINAR_HEARTBEAT_SEC": "10",
            # Raised for the bench (the default is 30 per minute per user): we measure the
            # heartbeat path, not refusals. The limiter itself still runs on every request.
            "AUTOWEBINAR_HEARTBEAT_RATE_LIMIT": "1000000 per minute",
            "AUTOWEBINAR_INSTANCE_PATH": instance,
            "AUTOWEBINAR_LOCALE": "en",
        })
        env.pop("AUTOWEBINAR_CONFIG", None)
        if SRC:
            env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
        exe = Path(sys.executable).parent / "autowebinar-wp"
        cmd = [str(exe)] if exe.exists() else [
            sys.executable, "-c", "from autowebinar_wp.cli import main; main()"]
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(port), "--server", name]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        elif name == "gthread":  # one thread would make it a sync worker
            cmd += ["--threads", "4"]
        self.cmd = cmd
        OUT.mkdir(parents=True, exist_ok=True)
        self.log_file = open(OUT / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; "
                                   f"see {OUT / 'server.log'}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    time.sleep(1.0)  # let every worker finish booting
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy")

    @property
    def workers(self) -> list[int]:
        """The worker processes (granian and gunicorn both fork them from the serve process;
        the webhook consumer is not started, since the bench sets no webhooks)."""
        return sorted(child_pids(self.proc.pid))

    def threads_per_worker(self) -> int:
        """Python threads per worker as the server runs it (from the command line)."""
        if self.name == "gunicorn":
            return 1
        if "--threads" in self.cmd:
            return int(self.cmd[self.cmd.index("--threads") + 1])
        from autowebinar_wp import cli

        for param in cli.serve.params:
            if param.name == "threads":
                return int(param.default)  # type: ignore[arg-type]
        return 1

    def process_groups(self) -> dict[str, list[int]]:
        """The processes whose CPU a window charges to the server, by name."""
        return {"server": [self.proc.pid, *self.workers]}

    def rss(self) -> list[dict[str, int]]:
        return [{"pid": pid, "peak_rss_kb": proc_status_kb(pid, "VmHWM"),
                 "rss_kb": proc_status_kb(pid, "VmRSS")} for pid in self.workers]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()


# ---- join phase (Python client) -------------------------------------------------------------


def join_all(port: int, user_tokens: dict[int, str], concurrency: int) -> dict[str, Any]:
    """Every user joins once; returns per-user join epochs and the phase's numbers."""
    ids = list(user_tokens)
    chunks = [ids[i::concurrency] for i in range(concurrency)]
    joined: dict[int, int] = {}
    anchors: dict[int, str] = {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(chunk: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        for uid in chunk:
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/session/join", body=b"{}", headers={
                "Authorization": f"Bearer {user_tokens[uid]}",
                "Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                with lock:
                    errors.append(f"{resp.status} {body[:200]!r}")
                continue
            data = json.loads(body)
            server_time = datetime.fromisoformat(data["server_time"]).timestamp()
            # position_sec at join is where the user is at server_time.
            with lock:
                joined[uid] = int(server_time) - int(data["position_sec"])
                anchors[uid] = data["anchor"]
        conn.close()
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, chunks))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    if errors:
        log(f"join errors: {len(errors)}, first: {errors[0]}")
    return {
        "joined": joined,
        "anchors": anchors,
        "stats": {
            "client": f"Python http.client, {concurrency} threads (informational)",
            "requests": len(latencies), "errors": len(errors), "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        },
    }


# ---- measurement around a phase ----------------------------------------------------------------


class Processes(Protocol):
    def process_groups(self) -> dict[str, list[int]]: ...


class Window:
    """Status, user statistics and CPU deltas over one measured phase."""

    def __init__(self, admin: Admin, db_user: str, server: Processes | None,
                 mariadb_pid: int | None):
        self.admin, self.db_user, self.server, self.mariadb_pid = (
            admin, db_user, server, mariadb_pid)

    def __enter__(self) -> Window:
        self.status0 = self.admin.status()
        self.user0 = self.admin.userstat(self.db_user)
        self.cpu0 = self._cpu()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        cpu1 = self._cpu()
        self.cpu = {k: round(cpu1[k] - self.cpu0[k], 3) for k in cpu1}
        # CPU the bench did not account for: other work on this machine during the window.
        self.cpu["other"] = round(self.cpu.pop("machine") - sum(self.cpu.values()), 3)
        self.busy_cores = round(sum(self.cpu.values()) / self.seconds, 2)
        status1 = self.admin.status()
        self.status = {k: status1[k] - self.status0.get(k, 0) for k in status1}
        user1 = self.admin.userstat(self.db_user)
        self.user = ({k: user1[k] - (self.user0 or {}).get(k, 0) for k in user1}
                     if user1 is not None and self.user0 is not None else None)

    def _cpu(self) -> dict[str, float]:
        groups = self.server.process_groups() if self.server else {"server": []}
        return {
            **{name: sum(proc_cpu_sec(pid) for pid in pids) for name, pids in groups.items()},
            "mariadb": proc_cpu_sec(self.mariadb_pid) if self.mariadb_pid else 0.0,
            "client": children_cpu_sec(),
            "machine": machine_cpu_sec(),
        }

    def per_request(self, requests: int) -> dict[str, Any]:
        n = max(1, requests)
        out: dict[str, Any] = {
            "cpu_ms_per_request": {k: round(v * 1000 / n, 3) for k, v in self.cpu.items()},
            "cpu_sec": self.cpu, "busy_cores": self.busy_cores, "seconds": round(self.seconds, 2),
            "status_per_request": {k: round(v / n, 3) for k, v in self.status.items()},
            "status_total": self.status,
        }
        if self.user is not None:
            out["user_per_request"] = {k: round(v / n, 3) for k, v in self.user.items()}
            # Anything the global counters saw beyond our own DB user came from other clients
            # of this server (other test runs): InnoDB byte counters are global only.
            # (the two snapshots are not atomic: a difference of a few either way is noise)
            out["foreign_updates"] = max(0, int(self.status.get("Com_update", 0)
                                                + self.status.get("Com_update_multi", 0)
                                                - self.user.get("UPDATE_COMMANDS", 0)))
        return out


# ---- sidecar phase (wrk) ---------------------------------------------------------------------


def run_wrk(url: str, data_file: Path, connections: int, seconds: int,
            threads: int, keepalive: bool = True, lua: Path = LUA) -> dict[str, Any]:
    cmd = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
           "-d", f"{seconds}s", "--timeout", "10s", "-s", str(lua), url, "--", str(data_file),
           "keep-alive" if keepalive else "close"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^AWBENCH (\{.*\})$", out, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    result: dict[str, Any] = json.loads(match.group(1))
    seconds_run = result["duration_us"] / 1e6
    lat = result["latency_us"]
    # heartbeat_wp.lua: a 200 without {"success":true} is an error too
    errors = sum(result["errors"].values()) + result.get("bad", 0)
    result.update({
        "rps": round(result["requests"] / seconds_run, 1),
        "p50_ms": lat["p50"] / 1000, "p95_ms": lat["p95"] / 1000, "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000, "mean_ms": round(lat["mean"] / 1000, 3),
        # non-2xx responses are counted by wrk in errors.status
        "error_count": errors,
    })
    return result


# ---- raw phase (PyMySQL, one process per connection) ----------------------------------------


def _raw_worker(conn_params: dict[str, Any], users: list[tuple[int, int]], lock_prefix: str,
                mode: str, seconds: float, seed: int, ready: Any, go: Any,
                results: Any) -> None:
    rng = random.Random(seed)
    conn = pymysql.connect(**conn_params, charset="utf8mb4", autocommit=False)
    cur = conn.cursor()
    lat = array("d")
    errors = 0
    keys = AW_KEYS + REF_KEYS
    pos_key, seen_key = "autowebinar_last_position_sec", "autowebinar_last_seen_at"
    ready.release()
    go.wait()
    end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        uid, joined = rng.choice(users)
        now = int(time.time())
        name = f"{lock_prefix}{uid}"
        try:
            if mode == "locked":
                cur.execute(SQL_LOCK, (name, 5))
                if cur.fetchone()[0] != 1:  # type: ignore[index]
                    errors += 1
                    conn.rollback()
                    continue
            cur.execute(SQL_LOAD, (uid, *keys))
            cur.fetchall()
            cur.execute(SQL_SAVE, (pos_key, str(max(0, now - joined - 2)), seen_key,
                                   time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
                                   uid, pos_key, seen_key))
            conn.commit()
            if mode == "locked":
                cur.execute(SQL_RELEASE, (name,))
        except pymysql.MySQLError:
            errors += 1
            conn.rollback()
            continue
        lat.append(time.perf_counter() - t0)
    conn.close()
    results.put((lat.tobytes(), errors))


def run_raw(conn_params: dict[str, Any], users: list[tuple[int, int]], lock_prefix: str,
            connections: int, seconds: int, mode: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_raw_worker, args=(conn_params, users, lock_prefix, mode,
                                                   seconds, 1000 + i, ready, go, results))
             for i in range(connections)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    t0 = time.perf_counter()
    go.set()
    lat = array("d")
    errors = 0
    for _ in procs:
        chunk, errs = results.get()
        part = array("d")
        part.frombytes(chunk)
        lat.extend(part)
        errors += errs
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    values = sorted(lat)
    return {
        "requests": len(values), "error_count": errors, "seconds": round(elapsed, 2),
        "rps": round(len(values) / elapsed, 1),
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "max_ms": round((values[-1] if values else 0) * 1000, 3),
        "mean_ms": round(sum(values) / max(1, len(values)) * 1000, 3),
    }


# ---- profile (py-spy) ------------------------------------------------------------------------


def start_profile(server: Server, seconds: int, connections: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = OUT / f"profile-c{connections}.txt"
    return subprocess.Popen(
        [exe, "record", "--pid", str(server.proc.pid), "--subprocesses", "--gil", "--nonblocking",
         "--rate", "200", "--duration", str(seconds), "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _package(path: str) -> str | None:
    """The package a frame belongs to (None for the standard library).

    py-spy prints paths relative to sys.path ("flask/app.py", "threading.py").
    """
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    if "autowebinar_wp/" in path:
        module = path.split("autowebinar_wp/", 1)[1].removesuffix(".py")
        return "autowebinar_wp." + module.replace("/", ".")
    top = path.lstrip("/").split("/", 1)[0].removesuffix(".py")
    if path.startswith("/") or top in sys.stdlib_module_names or top.startswith("<"):
        return None
    return top


def summarise_profile(path: Path, top: int = 14) -> dict[str, Any]:
    """Self time by package (stdlib frames charged to their caller) and hot functions."""
    by_package: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        # py-spy prefixes process and thread frames; keep only Python frames.
        parsed = [m for m in (_FRAME.match(f) for f in frames) if m]
        if not parsed:
            continue
        total += count
        owner = "stdlib/other"
        for m in reversed(parsed):
            pkg = _package(m.group("file"))
            if pkg is not None:
                owner = pkg
                break
        by_package[owner] = by_package.get(owner, 0) + count
        seen: set[str] = set()
        for m in parsed:
            pkg = _package(m.group("file")) or "stdlib"
            name = f"{pkg}:{m.group('func').split(' ')[0]}"
            if name not in seen:
                seen.add(name)
                inclusive[name] = inclusive.get(name, 0) + count
    def pct(n: int) -> float:
        return round(100 * n / max(1, total), 1)
    return {
        "samples": total,
        "self_by_package_pct": {k: pct(v) for k, v in
                                sorted(by_package.items(), key=lambda kv: -kv[1])[:top]},
        "inclusive_pct": {k: pct(v) for k, v in
                          sorted(inclusive.items(), key=lambda kv: -kv[1])[:top * 3]},
    }


# ---- machine ---------------------------------------------------------------------------------


def machine_info(admin: Admin) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = proc_meminfo_kb()
    variables = dict(admin.q(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', "
        "'innodb_buffer_pool_size', 'log_bin', 'sync_binlog', 'thread_handling', "
        "'innodb_log_file_size', 'innodb_doublewrite')"))
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    packages = {}
    for name in ("Flask", "SQLAlchemy", "PyMySQL", "granian", "gunicorn", "itsdangerous"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "missing"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "mariadb": admin.q("SELECT VERSION()")[0][0], "mariadb_variables": variables,
        "wrk": wrk_version.split(" [")[0].strip() or "wrk", "packages": packages,
    }


def proc_meminfo_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


# ---- report ----------------------------------------------------------------------------------


def write_amplification(window: dict[str, Any]) -> dict[str, Any]:
    """Per heartbeat and per viewer-minute (6 heartbeats at HEARTBEAT_SEC = 10)."""
    per = window["status_per_request"]
    user = window.get("user_per_request") or {}
    m = HEARTBEATS_PER_VIEWER_MINUTE
    rows = {
        "statements (Questions)": per.get("Questions", 0),
        "Com_select": per.get("Com_select", 0),
        "Com_update": per.get("Com_update", 0),
        "Com_update_multi (the anchored UPDATE's join)": per.get("Com_update_multi", 0),
        "Com_insert": per.get("Com_insert", 0),
        "Com_commit": per.get("Com_commit", 0),
        "Com_rollback": per.get("Com_rollback", 0),
        "Com_do": per.get("Com_do", 0),
        "Com_admin_commands (pings)": per.get("Com_admin_commands", 0),
        "Innodb_os_log_written (bytes, redo)": per.get("Innodb_os_log_written", 0),
        "Innodb_data_written (bytes)": per.get("Innodb_data_written", 0),
        "Innodb_data_fsyncs": per.get("Innodb_data_fsyncs", 0),
        "Bytes_received (bytes)": per.get("Bytes_received", 0),
        "Bytes_sent (bytes)": per.get("Bytes_sent", 0),
    }
    if user:
        rows.update({
            "user: BYTES_RECEIVED": user.get("BYTES_RECEIVED", 0),
            "user: BYTES_SENT": user.get("BYTES_SENT", 0),
            "user: SELECT_COMMANDS": user.get("SELECT_COMMANDS", 0),
            "user: UPDATE_COMMANDS": user.get("UPDATE_COMMANDS", 0),
            "user: OTHER_COMMANDS": user.get("OTHER_COMMANDS", 0),
            "user: ROWS_READ": user.get("ROWS_READ", 0),
            "user: ROWS_UPDATED": user.get("ROWS_UPDATED", 0),
        })
    return {k: {"per_heartbeat": round(v, 3), "per_viewer_minute": round(v * m, 2)}
            for k, v in rows.items()}


def attributed_cpu_ms(window: dict[str, Any]) -> float:
    """CPU per heartbeat of every process the bench accounts for (server, MariaDB, client)."""
    return float(sum(v for k, v in window["cpu_ms_per_request"].items() if k != "other"))


def statements(window: dict[str, Any]) -> float:
    """Statements per heartbeat: the bench user's own (USER_STATISTICS), else global Questions
    (which then count other clients of a shared server too)."""
    user = window.get("user_per_request")
    if user:
        return float(sum(user.get(k, 0) for k in ("SELECT_COMMANDS", "UPDATE_COMMANDS",
                                                   "OTHER_COMMANDS")))
    return float(window["status_per_request"].get("Questions", 0))


def print_report(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print()
    print(f"Heartbeat: servers (wrk) vs the raw limit (PyMySQL), {cfg['duration_sec']} s per "
          f"window, {cfg['users']} users")
    head = (f"{'server':<9} {'conns':>5} {'client':<10} | {'rps':>7} {'p50':>7} {'p95':>7} "
            f"{'p99':>7} {'err':>4} {'clamp':>5} | {'stmts':>5} {'srv µs':>7} | "
            f"{'×min':>5} {'×locked':>7} {'×wp':>5} {'cpu':>5}")
    print(head)
    print("-" * len(head))
    for run in result["runs"]:
        s, w = run["wrk"], run["window"]
        raw = result["raw"].get(str(run["connections"]), {})
        ratio_min = s["rps"] / raw["min"]["rps"] if "min" in raw else float("nan")
        ratio_locked = s["rps"] / raw["locked"]["rps"] if "locked" in raw else float("nan")
        ratio_wp = (f"{run['ratio_wordpress']:>5.2f} {run['cpu_ratio_wordpress']:>5.2f}"
                    if "ratio_wordpress" in run else "    -     -")
        print(f"{run['server']:<9} {run['connections']:>5} {run['client']:<10} | "
              f"{s['rps']:>7.1f} {s['p50_ms']:>7.2f} {s['p95_ms']:>7.2f} {s['p99_ms']:>7.2f} "
              f"{s['error_count']:>4} {s['clamped']:>5} | "
              f"{statements(w):>5.2f} "
              f"{w['cpu_ms_per_request']['server'] * 1000:>7.0f} | "
              f"{ratio_min:>5.2f} {ratio_locked:>7.2f} {ratio_wp}")
    print("(latencies in ms; stmts = statements per heartbeat (SELECT + UPDATE + other) of the "
          "bench's DB user; srv µs = CPU of the server's processes per heartbeat; ×min / "
          "×locked = rps / the raw limit's rps; ×wp = rps / WordPress's rps, keep-alive; "
          "cpu = WordPress's CPU per heartbeat / ours (server + MariaDB + client))")
    wordpress = result.get("wordpress")
    if wordpress:
        print()
        print(f"{'wordpress':<9} {'conns':>5} | {'rps':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
              f"{'err':>4} {'clamp':>5} | {'stmts':>5} {'conn':>4} {'php µs':>7} "
              f"{'nginx µs':>8} {'db µs':>6}")
        for run in wordpress["runs"]:
            s, w = run["wrk"], run["window"]
            cpu = w["cpu_ms_per_request"]
            conns = (w.get("user_per_request") or {}).get("TOTAL_CONNECTIONS", float("nan"))
            print(f"{'':<9} {run['connections']:>5} | {s['rps']:>7.1f} {s['p50_ms']:>7.2f} "
                  f"{s['p95_ms']:>7.2f} {s['p99_ms']:>7.2f} {s['error_count']:>4} "
                  f"{s['clamped']:>5} | {statements(w):>5.2f} {conns:>4.2f} "
                  f"{cpu['php'] * 1000:>7.0f} {cpu['nginx'] * 1000:>8.0f} "
                  f"{cpu['mariadb'] * 1000:>6.0f}")
        php = wordpress.get("php", {})
        opcache = php.get("opcache") or {}
        print(f"(admin-ajax.php, nginx + {wordpress['config']['php_fpm_processes']} php-fpm "
              f"processes, PHP {php.get('php')} {php.get('sapi')}, opcache "
              f"{'on' if opcache.get('enabled') else 'OFF'} ({opcache.get('hits')} hits, "
              f"{opcache.get('misses')} misses); stmts = statements per heartbeat of WordPress's "
              "DB user, conn = connections per heartbeat; CPU per heartbeat)")
        queries = wordpress.get("queries_one_heartbeat") or []
        print(f"One heartbeat through $wpdb ({len(queries)} queries, SAVEQUERIES; connection "
              "set-up not listed):")
        for query in queries:
            print("  " + " ".join(query.split())[:110])
    print()
    print(f"{'raw':<9} {'conns':>5} | {'rps':>7} {'p50':>7} {'p95':>7} {'p99':>7} | "
          f"{'stmts':>5} {'client µs':>9}")
    for conns, modes in result["raw"].items():
        for mode, raw in modes.items():
            w = raw["window"]
            print(f"{mode:<9} {conns:>5} | {raw['rps']:>7.1f} {raw['p50_ms']:>7.2f} "
                  f"{raw['p95_ms']:>7.2f} {raw['p99_ms']:>7.2f} | "
                  f"{statements(w):>5.2f} "
                  f"{w['cpu_ms_per_request']['client'] * 1000:>9.0f}")
    print()
    print("CPU per heartbeat (ms) by process:")
    for run in result["runs"] + (wordpress or {}).get("runs", []):
        cpu = run["window"]["cpu_ms_per_request"]
        print(f"  {run['server']:<9} c={run['connections']:<3} {run['client']:<10} "
              + "  ".join(f"{k}={v:.3f}" for k, v in cpu.items()))
    print()
    print("Server workers (peak RSS = VmHWM, after their runs):")
    for name, workers in result["rss"].items():
        print(f"  {name}: " + ", ".join(f"{w['peak_rss_kb'] / 1024:.1f} MiB" for w in workers))
    wa = result.get("write_amplification")
    if wa:
        print()
        print(f"Write amplification, {wa['server']} c={wa['connections']} keep-alive "
              "(per heartbeat / per viewer-minute = 6 heartbeats):")
        for side in ("sidecar", "raw_min", "wordpress"):
            if side not in wa:
                continue
            print(f"  {side}:")
            for key, value in wa[side].items():
                print(f"    {key:<40} {value['per_heartbeat']:>10} "
                      f"{value['per_viewer_minute']:>12}")
    if result.get("profile"):
        prof = result["profile"]
        print()
        print(f"Profile (py-spy, {prof['server']} c={prof['connections']}, {prof['samples']} "
              "samples, Python CPU: samples holding the GIL; self time by package):")
        for key, value in prof["self_by_package_pct"].items():
            print(f"  {value:>5.1f}%  {key}")


# ---- WordPress phase (wrk against nginx + php-fpm) -------------------------------------------


def run_wordpress(args: argparse.Namespace, admin: Admin, site: Any, db_user: str,
                  joined: dict[int, int], levels: list[int],
                  mariadb_pid: int | None) -> dict[str, Any]:
    """The heartbeat through WordPress's admin-ajax at each level (keep-alive clients)."""
    from bench import wordpress as wpbench

    data_file = OUT / "users-wp.txt"
    data_file.write_text("".join(
        f"{uid}\t{joined[uid]}\t{cookie}\t{nonce}\n"
        for uid, (cookie, nonce) in sorted(site.sessions.items()) if uid in joined))
    out: dict[str, Any] = {"runs": []}
    server = wpbench.WordPressServer(site, args.wp_children)
    try:
        log(f"wordpress up on :{site.port}: nginx + php-fpm, {args.wp_children} processes")
        for connections in levels:
            if args.warmup:
                run_wrk(site.url, data_file, connections, args.warmup, args.wrk_threads,
                        lua=LUA_WP)
            time.sleep(LUA_COOLDOWN_SEC)  # as for the servers: let the users rest
            log(f"wordpress c={connections} keep-alive: wrk for {args.duration} s")
            with Window(admin, db_user, server, mariadb_pid) as window:
                outcome = run_wrk(site.url, data_file, connections, args.duration,
                                  args.wrk_threads, lua=LUA_WP)
            per = window.per_request(outcome["ok"])
            log(f"  {outcome['rps']} rps, p50 {outcome['p50_ms']} p99 {outcome['p99_ms']} ms, "
                f"errors {outcome['error_count']}, clamped {outcome['clamped']}, "
                f"statements/hb {statements(per):.2f}")
            out["runs"].append({"server": "wordpress", "connections": connections,
                                "client": "keep-alive", "wrk": outcome, "window": per})
        out["php"] = server.info()
        out["rss"] = [{"pid": pid, "peak_rss_kb": proc_status_kb(pid, "VmHWM"),
                       "rss_kb": proc_status_kb(pid, "VmRSS")} for pid in server.workers]
    finally:
        server.stop()
    # What one heartbeat sends through $wpdb (php-cli with SAVEQUERIES, after the windows: the
    # steady state, not the first requests, which schedule WordPress's cron events), for a user
    # last seen over a second ago, so that the position and last_seen_at both change.
    time.sleep(1.5)
    uid = min(uid for uid in site.sessions if uid in joined)
    cookie, nonce = site.sessions[uid]
    out["queries_one_heartbeat"] = wpbench.probe_queries(
        site, cookie, nonce, int(time.time()) - joined[uid] - 2)
    return out


# ---- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=20, help="seconds per level and side")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured seconds before each level")
    p.add_argument("--concurrency", default="8,32", help="comma-separated connection counts")
    p.add_argument("--users", type=int, default=10000)
    p.add_argument("--servers", default="granian,gunicorn,gthread",
                   help="comma-separated `serve --server` names, measured in turn")
    p.add_argument("--keepalive", default="on,off",
                   help="client kinds: on = keep-alive connections, off = one per request")
    p.add_argument("--workers", type=int, default=None, help="worker processes (CLI default)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per worker for granian/gthread (CLI default; gthread: 4)")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--mysql", default="root@127.0.0.1:3306",
                   help="admin account user[:password]@host:port")
    p.add_argument("--db", default="awbench", help="database to create and drop")
    p.add_argument("--db-user", default="awbench", help="database user to create and drop")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--skip-raw", action="store_true", help="sidecar only (for quick tuning)")
    p.add_argument("--wordpress", action="store_true",
                   help="also measure the heartbeat as a typical WordPress plugin does it "
                        "(admin-ajax + update_user_meta, nginx + php-fpm; bench/wordpress.py)")
    p.add_argument("--wp-children", type=int, default=8,
                   help="php-fpm processes for --wordpress (pm = static)")
    p.add_argument("--wp-db-user", default=None,
                   help="WordPress's database user to create and drop (default: <db-user>_wp)")
    p.add_argument("--profile", action="store_true",
                   help="py-spy (--gil: Python CPU) the first server during its 32-connection "
                        "keep-alive window (or the highest)")
    p.add_argument("--plot", action="store_true",
                   help="write docs/bench/heartbeat-latency.png from the results")
    p.add_argument("--out", default=str(OUT / "heartbeat.json"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    clients = [k.strip() == "on" for k in args.keepalive.split(",") if k.strip()]
    creds, _, hostport = args.mysql.rpartition("@")
    admin_user, _, admin_pw = creds.partition(":")
    host, _, port_text = hostport.partition(":")
    admin = Admin(host, int(port_text or 3306), admin_user or "root", admin_pw)
    db_password = secrets.token_urlsafe(16)
    wp_user = args.wp_db_user or f"{args.db_user}_wp"
    if args.wordpress:
        from bench import wordpress as wpbench

        missing = wpbench.missing_programs()
        if missing:
            sys.exit(f"--wordpress needs: apt-get install {' '.join(missing)}")
        if not servers:
            sys.exit("--wordpress needs a server: the users join through the service first")
    # Two runs would drop each other's database and user: one at a time per MariaDB server.
    if admin.q("SELECT GET_LOCK(%s, 0)", (f"autowebinar-bench:{args.db}",))[0][0] != 1:
        sys.exit(f"another bench is using database `{args.db}` on this server (--db to change)")
    OUT.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine_info(admin), "runs": [], "raw": {},
                              "rss": {}}
    userstat_before = admin.q("SELECT @@GLOBAL.userstat")[0][0]
    server: Server | None = None
    wp_site = None
    instance = tempfile.mkdtemp(prefix="awbench-")
    try:
        log(f"seeding {args.users} users into `{args.db}`.{TABLE}")
        t0 = time.perf_counter()
        rows = seed_database(admin, args.db, args.users)
        log(f"  {rows} WordPress meta rows in {time.perf_counter() - t0:.1f} s")
        create_bench_user(admin, args.db, args.db_user, db_password)
        if args.wordpress:
            # Before the service's run, so that both sides see the same table (WordPress adds
            # each user's login session to session_tokens).
            wp_password = secrets.token_urlsafe(16)
            create_wordpress_user(admin, args.db, wp_user, wp_password)
            log("installing WordPress on the same database; logging every user in")
            t0 = time.perf_counter()
            wp_site = wpbench.build(
                Path(instance) / "wordpress",
                f"mysql+pymysql://{wp_user}:{wp_password}@{host}:{int(port_text or 3306)}/"
                f"{args.db}", args.users, VIDEO_DURATION_SEC,
                SessionConfig(VIDEO_DURATION_SEC).slack_sec, free_port())
            log(f"  {len(wp_site.sessions)} sessions in {time.perf_counter() - t0:.1f} s")
        try:
            admin.q("SET GLOBAL userstat = 1")  # per-user counters: ours, not other clients'
        except pymysql.MySQLError as exc:
            log(f"userstat unavailable ({exc}); global counters only")
        db_url = (f"mysql+pymysql://{args.db_user}:{db_password}@{host}:"
                  f"{int(port_text or 3306)}/{args.db}")
        result["config"] = {
            "users": args.users, "duration_sec": args.duration, "warmup_sec": args.warmup,
            "levels": levels, "servers": servers,
            "clients": ["keep-alive" if k else "close" for k in clients],
            "wrk_threads": args.wrk_threads, "heartbeat_rate_limit": "1000000 per minute",
            "video_duration_sec": VIDEO_DURATION_SEC, "token_ttl_sec": TOKEN_TTL_SEC,
            "raw_client": "one process per connection, PyMySQL, autocommit off",
            "servers_detail": {},
        }
        mariadb_pid = find_process(("mariadbd", "mysqld"))
        user_tokens = {uid: tokens.mint(SECRET, uid, "viewer", TOKEN_TTL_SEC)
                       for uid in range(1, args.users + 1)}
        data_file = OUT / "users.txt"
        users: list[tuple[int, int]] = []
        from sqlalchemy import create_engine

        from autowebinar_wp.store import UserMetaStore

        lock_prefix = UserMetaStore(create_engine(db_url), PREFIX).lock_name(0)[:-1]
        conn_params = {"host": host, "port": int(port_text or 3306), "user": args.db_user,
                       "password": db_password, "database": args.db}
        profile_level = 32 if 32 in levels else max(levels)
        for index, name in enumerate(servers):
            port = free_port()
            server = Server(args, db_url, port, instance, name)
            workers, threads = server.workers, server.threads_per_worker()
            result["config"]["servers_detail"][name] = {"workers": len(workers),
                                                        "threads": threads}
            log(f"{name} up on :{port}: {len(workers)} workers x {threads} threads")
            if index == 0:
                log(f"joining {args.users} users")
                joins = join_all(port, user_tokens, 8)
                result["join"] = joins["stats"]
                log(f"  {joins['stats']}")
                joined: dict[int, int] = joins["joined"]
                data_file.write_text("".join(
                    f"{uid} {joined[uid]} {user_tokens[uid]} {joins['anchors'][uid]}\n"
                    for uid in sorted(joined)))
                users = sorted(joined.items())
            url = f"http://127.0.0.1:{port}"
            for connections in levels:
                for keepalive in clients:
                    client = "keep-alive" if keepalive else "close"
                    if args.warmup:
                        run_wrk(url, data_file, connections, args.warmup, args.wrk_threads,
                                keepalive)
                    # heartbeat.lua's per-user cooldown starts empty in each wrk process:
                    # let the users of the previous run rest as long.
                    time.sleep(LUA_COOLDOWN_SEC)
                    profiler = None
                    if (args.profile and index == 0 and keepalive
                            and connections == profile_level):
                        profiler = start_profile(server, args.duration, connections)
                    log(f"{name} c={connections} {client}: wrk for {args.duration} s")
                    with Window(admin, args.db_user, server, mariadb_pid) as window:
                        outcome = run_wrk(url, data_file, connections, args.duration,
                                          args.wrk_threads, keepalive)
                    if profiler is not None:
                        profiler.wait()
                    log(f"  {outcome['rps']} rps, p50 {outcome['p50_ms']} p99 "
                        f"{outcome['p99_ms']} ms, errors {outcome['error_count']}, clamped "
                        f"{outcome['clamped']}, statements/hb "
                        f"{statements(window.per_request(outcome['ok'])):.2f}")
                    result["runs"].append({
                        "server": name, "connections": connections, "client": client,
                        "wrk": outcome, "window": window.per_request(outcome["ok"]),
                    })
            result["rss"][name] = server.rss()
            server.stop()
            server = None
        if wp_site is not None:
            result["wordpress"] = run_wordpress(args, admin, wp_site, wp_user, joined, levels,
                                                mariadb_pid)
            result["wordpress"]["config"] = {
                "server": "nginx (Debian) + php-fpm 8.2, Debian's fpm/php.ini (opcache on), "
                          "pm = static",
                "php_fpm_processes": args.wp_children, "nginx_workers": "auto",
                "db_user": wp_user, "action": wpbench.ACTION,
                "object_cache": "none (WordPress's default, per request)",
            }
            wp_runs = {run["connections"]: run for run in result["wordpress"]["runs"]}
            for run in result["runs"]:
                wp_run = wp_runs.get(run["connections"])
                if run["client"] == "keep-alive" and wp_run and wp_run["wrk"]["rps"]:
                    run["ratio_wordpress"] = round(run["wrk"]["rps"] / wp_run["wrk"]["rps"], 2)
                    # CPU per heartbeat, WordPress's over ours: the capacity ratio on a
                    # CPU-bound machine, less sensitive than rps to other work during a window.
                    run["cpu_ratio_wordpress"] = round(
                        attributed_cpu_ms(wp_run["window"])
                        / max(1e-9, attributed_cpu_ms(run["window"])), 2)
            result["rss"]["wordpress (php-fpm)"] = result["wordpress"]["rss"]
        if not args.skip_raw:
            for connections in levels:
                for mode in RAW_MODES:
                    log(f"raw {mode} c={connections}: PyMySQL for {args.duration} s")
                    with Window(admin, args.db_user, None, mariadb_pid) as window:
                        raw = run_raw(conn_params, users, lock_prefix, connections,
                                      args.duration, mode)
                    log(f"  {raw['rps']} rps, p50 {raw['p50_ms']} p99 {raw['p99_ms']} ms, "
                        f"errors {raw['error_count']}")
                    raw["window"] = window.per_request(raw["requests"])
                    result["raw"].setdefault(str(connections), {})[mode] = raw
            top = next((run for run in result["runs"] if run["connections"] == profile_level
                        and run["client"] == "keep-alive"), result["runs"][-1])
            result["write_amplification"] = {
                "server": top["server"], "connections": top["connections"],
                "heartbeats_per_viewer_minute": HEARTBEATS_PER_VIEWER_MINUTE,
                "sidecar": write_amplification(top["window"]),
                "raw_min": write_amplification(
                    result["raw"][str(top["connections"])]["min"]["window"]),
            }
            wp_top = next((run for run in result.get("wordpress", {}).get("runs", [])
                           if run["connections"] == top["connections"]), None)
            if wp_top is not None:
                result["write_amplification"]["wordpress"] = write_amplification(
                    wp_top["window"])
        if args.profile:
            path = OUT / f"profile-c{profile_level}.txt"
            if path.exists():
                result["profile"] = {"server": servers[0], "connections": profile_level,
                                     "file": str(path), **summarise_profile(path)}
        Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"results in {args.out}")
        print_report(result)
        if args.plot:
            from bench.plot import plot

            log(f"plot: {plot(Path(args.out))}")
    finally:
        if server is not None:
            server.stop()
        with contextlib.suppress(pymysql.MySQLError):
            admin.q(f"SET GLOBAL userstat = {int(userstat_before)}")
        drop_bench_user(admin, args.db_user)
        if args.wordpress:
            drop_bench_user(admin, wp_user)
        if not args.keep_db:
            admin.q(f"DROP DATABASE IF EXISTS `{args.db}`")
        shutil.rmtree(instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
