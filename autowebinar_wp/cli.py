"""The `autowebinar-wp` command line."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from autowebinar_wp.errors import ConfigError


def _fail(message: str, code: int = 2) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(code)


def load_app(config_file: str | None, **overrides: Any) -> Any:
    """create_app with a clean CLI error instead of a traceback on bad configuration."""
    from autowebinar_wp.app import create_app

    try:
        return create_app(overrides or None, config_file=config_file)
    except ConfigError as exc:
        _fail(exc.message)


config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), default=None,
    help="TOML configuration file (default: $AUTOWEBINAR_CONFIG).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="autowebinar-wp")
def main() -> None:
    """autowebinar-wp: honest automated webinars for WordPress, state in wp_usermeta."""


@main.command()
@config_option
def check(config_file: str | None) -> None:
    """Read-only diagnosis: configuration, database, table, privileges, row counts."""
    from autowebinar_wp.check import FAIL, run_check

    findings = run_check(config_file)
    for finding in findings:
        click.echo(finding.line())
    failed = [f for f in findings if f.level == FAIL]
    if failed:
        click.echo(f"\n{len(failed)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("\nAll checks passed.")


def _serve(app_factory_kwargs: dict[str, Any], host: str, port: int, workers: int,
           threads: int) -> None:
    from autowebinar_wp.server import run_gunicorn

    run_gunicorn(app_factory_kwargs, host=host, port=port, workers=workers, threads=threads)


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=max(2, (os.cpu_count() or 1)), show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(config_file: str | None, host: str, port: int, workers: int, threads: int) -> None:
    """Run the production server (gunicorn)."""
    load_app(config_file)  # fail fast, with a clear message, before forking workers
    _serve({"config_file": config_file}, host, port, workers, threads)


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(config_file: str | None, host: str, port: int) -> None:
    """Run on the embedded default (SQLite, demo video, demo secrets) and print a link."""
    os.environ.setdefault("AUTOWEBINAR_DEMO", "1")
    app = load_app(config_file)
    if not app.extensions["autowebinar.embedded"]:
        click.echo("note: DATABASE_URL is set, so the demo uses that database.", err=True)
    base = f"http://{host}:{port}"
    click.echo(f"AutoWebinar demo on {base}  (health: {base}/healthz)")
    _serve({"config_file": config_file}, host, port, 1, 8)
