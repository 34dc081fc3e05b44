"""Running the real service as separate processes for tests: start, wait, stop by pid.

Every process is started in its own session (process group) so that stopping it also stops
the workers it forked; every helper is bounded in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    return subprocess.Popen([sys.executable, "-m", "autowebinar_wp.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    if process.stderr:
        process.stderr.close()


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base} did not become healthy in {timeout} s")


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[str]:
    """`autowebinar-wp serve` on a free port; yields its base URL and stops it afterwards."""
    port = free_port()
    process = cli("serve", "--host", "127.0.0.1", "--port", str(port), *args, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        stop(process)
