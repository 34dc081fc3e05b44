"""The production servers `serve` can run: granian (the default) or gunicorn.

BENCHMARKS.md measures them side by side on the heartbeat. granian's HTTP layer is Rust
(hyper on tokio): it reads requests, keep-alive connections and slow clients asynchronously
and hands only complete requests to the Python workers, so a client that sends its headers
byte by byte holds a socket, not a worker; `HEADER_READ_TIMEOUT_SEC` drops it. gunicorn's
sync workers read each request themselves, one at a time, so they need a buffering reverse
proxy in front; gthread tolerates slow clients up to its thread count.
"""

from __future__ import annotations

import os
from typing import Any

SERVERS = ("granian", "gunicorn", "gthread")
DEFAULT_SERVER = "granian"
HEADER_READ_TIMEOUT_SEC = 10  # a client gets this long to send its request headers
TARGET = "autowebinar_wp.app:create_app"


def run(server: str, config_file: str | None, *, host: str, port: int, workers: int,
        threads: int) -> None:
    """Serve the app until stopped (blocking). `threads`: Python threads per worker."""
    if config_file:  # the workers build the app themselves, from the same configuration
        os.environ["AUTOWEBINAR_CONFIG"] = os.path.abspath(config_file)
    if server == "granian":
        run_granian(host=host, port=port, workers=workers, threads=threads)
    elif server in ("gunicorn", "gthread"):
        run_gunicorn(host=host, port=port, workers=workers,
                     threads=threads if server == "gthread" else 1)
    else:
        raise ValueError(f"server must be one of {', '.join(SERVERS)}")


def run_granian(*, host: str, port: int, workers: int, threads: int) -> None:
    """granian, WSGI: `workers` processes, each with `threads` blocking (Python) threads.

    A crashed worker is replaced (`respawn_failed_workers`), as gunicorn's arbiter does.
    """
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    Granian(
        TARGET,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_SEC * 1000,
                                     keep_alive=True),
        respawn_failed_workers=True,
        respawn_interval=0.5,
        log_access=False,
        websockets=False,
    ).serve()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """gunicorn with `workers` processes; sync workers when `threads` is 1, else gthread."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "timeout": 30,
                "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from autowebinar_wp.app import create_app

            return create_app()

    Application().run()
