"""Run the app under gunicorn (production server) from our own CLI."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Application(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory_kwargs: dict[str, Any], options: dict[str, Any]) -> None:
        self.factory_kwargs = factory_kwargs
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from autowebinar_wp.app import create_app

        return create_app(**self.factory_kwargs)


def run_gunicorn(factory_kwargs: dict[str, Any], *, host: str, port: int, workers: int,
                 threads: int) -> None:
    """gunicorn with `workers` processes; sync workers when `threads` is 1, else gthread.

    Sync workers (the `serve` default) handle one request at a time per process, with no
    keep-alive: the lowest CPU and tail latency per heartbeat (BENCHMARKS.md), and what
    gunicorn recommends behind a buffering reverse proxy such as nginx. gthread keeps
    connections alive and tolerates slow clients, for a service exposed without one.
    """
    options = {
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
    _Application(factory_kwargs, options).run()
