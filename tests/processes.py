"""Running the real service as separate processes for tests: start, wait, stop by pid.

Every process is started in its own session (process group) so that stopping it also stops
the workers it forked; every helper is bounded in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import SECRET, free_port


def environment(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The process environment: ours, without the caller's AUTOWEBINAR_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOWEBINAR_")}
    env.update({
        "AUTOWEBINAR_DATABASE_URL": database_url,
        "AUTOWEBINAR_INSTANCE_PATH": str(instance),
        "AUTOWEBINAR_EMBED_SECRET": SECRET,
        "AUTOWEBINAR_LOG_LEVEL": "WARNING",
        **extra,
    })
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`autowebinar-wp ARGS` in its own process group. Its log goes to a temporary file
    (`server_log(process)` reads it): a pipe nobody reads would block a chatty server."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen([sys.executable, "-m", "autowebinar_wp.cli", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    process.log_file = log  # type: ignore[attr-defined]
    return process


def server_log(process: subprocess.Popen[bytes], tail: int = 4000) -> str:
    log = getattr(process, "log_file", None)
    if log is None or log.closed:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")[-tail:]


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    log = getattr(process, "log_file", None)
    if log is not None:
        log.close()


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: "
                               + server_log(process))
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base} did not become healthy in {timeout} s")


@dataclass
class Served:
    """A running `autowebinar-wp serve`: its base URL and its process (the server's master)."""

    base: str
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def workers(self) -> list[int]:
        """The web worker processes (granian's or gunicorn's), not the webhook consumer."""
        return [pid for pid in descendants(self.process.pid) if not is_consumer(pid)]

    def consumers(self) -> list[int]:
        return [pid for pid in descendants(self.process.pid) if is_consumer(pid)]

    def rss_kb(self) -> int:
        """Resident memory of the master and all its descendants, in KiB."""
        return sum(rss_kb(pid) for pid in [self.process.pid, *descendants(self.process.pid)])


@contextmanager
def server(env: dict[str, str], *args: str) -> Iterator[Served]:
    """`autowebinar-wp serve` on a free port, healthy; stopped (by process group) afterwards."""
    port = free_port()
    process = cli("serve", "--host", "127.0.0.1", "--port", str(port), *args, env=env)
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        wait_healthy(served.base, process)
        yield served
    finally:
        stop(process)


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[str]:
    """`autowebinar-wp serve` on a free port; yields its base URL and stops it afterwards."""
    with server(env, *args) as served:
        yield served.base


# ---- inspecting processes (/proc: Linux, as CI) ---------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], children(pid)
    while todo and len(out) < 1000:
        child = todo.pop()
        out.append(child)
        todo += children(child)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def is_consumer(pid: int) -> bool:
    return "autowebinar_wp.cli worker" in cmdline(pid)


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][:1] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


def wait_until(predicate: Callable[[], object], timeout: float,
               step: float = 0.05) -> float | None:
    """Seconds until `predicate()` held, or None if it did not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


# ---- a private MariaDB server for fault tests ---------------------------------------------


@dataclass
class ScratchMariaDB:
    """A second `mariadbd` with its own datadir, port and socket, started and killed by pid.

    The shared server on 3306 is never touched: a test may `kill -9` this one at will.
    """

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "mariadbd.err"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"

    def install(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [_mariadb_tool("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}",
             "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db",
             "--skip-name-resolve"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self, timeout: float = 30) -> float:
        """Start the server; returns the seconds until it answered a ping."""
        assert self.process is None or self.process.poll() is not None, "already running"
        began = time.monotonic()
        (self.root / "tmp").mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [_mariadb_tool("mariadbd"), "--no-defaults", "--user=root",
             f"--datadir={self.datadir}", f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--socket={self.root / 'mariadbd.sock'}", f"--pid-file={self.root / 'pid'}",
             f"--log-error={self.log}", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
             # its own temporary directory: at start-up mariadbd deletes every #sql* file in
             # its tmpdir (mysql_rm_tmp_tables), which in /tmp are the shared server's
             # in-flight temporary tables
             f"--tmpdir={self.root / 'tmp'}",
             # durability as WordPress's servers default to: redo log flushed at each commit
             "--innodb-flush-log-at-trx-commit=1", "--max-connections=300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}: "
                                   + self.log.read_text(errors="replace")[-2000:])
            if self.ping():
                return time.monotonic() - began
            time.sleep(0.05)
        raise TimeoutError(f"mariadbd on port {self.port} did not answer in {timeout} s")

    def ping(self) -> bool:
        import pymysql

        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                            connect_timeout=1).close()
        except pymysql.MySQLError:
            return False
        return True

    def kill(self) -> None:
        """kill -9, as a crash: no shutdown, no flush beyond what InnoDB already made durable."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps every connection open and answers nothing, as a frozen
        host or a network partition does (nothing is closed, so only a timeout notices)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.thaw()  # a frozen server would not act on SIGTERM
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _mariadb_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (Debian package mariadb-server)")
    return found


@contextmanager
def scratch_mariadb(root: Path) -> Iterator[ScratchMariaDB]:
    """A fresh private MariaDB under `root`, removed (process and datadir) afterwards."""
    server = ScratchMariaDB(root, free_port())
    server.install()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
