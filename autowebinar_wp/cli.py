"""The `autowebinar-wp` command line."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import click

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.server import DEFAULT_SERVER, SERVERS
from autowebinar_wp.services import services


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


def _serve_with_consumer(app: Any, config_file: str | None, server: str, host: str, port: int,
                         workers: int, threads: int) -> None:
    """The web server in the foreground, a webhook consumer beside it when webhooks are set."""
    from autowebinar_wp.server import run

    consumer = None
    if services(app).outbox.enabled:
        consumer = ConsumerSupervisor(config_file)
    else:
        click.echo("note: WEBHOOK_URLS is empty, so no events are sent (they are logged).",
                   err=True)
    try:
        run(server, config_file, host=host, port=port, workers=workers, threads=threads)
    finally:
        if consumer is not None:
            consumer.stop()


class ConsumerSupervisor:
    """The webhook consumer beside the web server, restarted when it crashes, as the web
    server's master restarts a crashed worker: without it, a consumer killed by the OOM
    killer (or `kill -9`) would leave every event queued until someone restarted `serve`.

    Only a crash is restarted (killed by a signal other than SIGTERM/SIGINT, or a non-zero
    exit); a consumer that crashes again within a minute waits longer each time (1 s
    doubling to 30 s), so a broken configuration does not spin.
    """

    CHECK_SEC = 0.5
    FIRST_DELAY_SEC = 1.0
    STABLE_SEC = 60.0
    MAX_DELAY_SEC = 30.0

    def __init__(self, config_file: str | None) -> None:
        self._config_file = config_file
        self._clock = time.monotonic
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.process = spawn_consumer(config_file)
        self.started = self._clock()
        self.restarts = 0
        self._thread = threading.Thread(target=self._watch, name="consumer-supervisor",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        log = logging.getLogger("autowebinar_wp.cli")
        delay = self.FIRST_DELAY_SEC
        while not self._stopped.wait(self.CHECK_SEC):
            code = self.process.poll()
            if code is None or code in (0, -signal.SIGTERM, -signal.SIGINT):
                continue  # running, or stopped on purpose
            ran = self._clock() - self.started
            if ran >= self.STABLE_SEC:
                delay = self.FIRST_DELAY_SEC  # it had been running fine: restart promptly
            log.warning("webhook consumer exited, restarting",
                        extra={"exit_code": code, "ran_sec": round(ran, 1),
                               "restart_in_sec": delay})
            if self._stopped.wait(delay):
                return
            with self._lock:
                if self._stopped.is_set():
                    return
                self.process = spawn_consumer(self._config_file)
                self.started = self._clock()
                self.restarts += 1
            delay = min(delay * 2, self.MAX_DELAY_SEC)

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
# Defaults measured in BENCHMARKS.md ("Production server"): a heartbeat is CPU-bound Python,
# so processes (two per core) with one Python thread each beat threads sharing a GIL, and
# granian's Rust HTTP layer keeps slow and keep-alive clients off the Python workers.
@click.option("--server", type=click.Choice(SERVERS), default=DEFAULT_SERVER,
              show_default=True, help="granian, or gunicorn (sync workers) / gthread.")
@click.option("--workers", default=max(2, 2 * (os.cpu_count() or 1)), show_default=True,
              type=click.IntRange(1, 256), help="Worker processes.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Python threads per worker (granian, gthread).")
def serve(config_file: str | None, host: str, port: int, server: str, workers: int,
          threads: int) -> None:
    """Run the production server (granian by default) and the webhook consumer."""
    app = load_app(config_file)  # fail fast, with a clear message, before forking workers
    _serve_with_consumer(app, config_file, server, host, port, workers, threads)


DEMO_DEFAULTS = {
    "AUTOWEBINAR_DEMO": "1",
    "AUTOWEBINAR_TITLE": "AutoWebinar demo",
    "AUTOWEBINAR_VIDEO_DURATION_SEC": "60",
    "AUTOWEBINAR_CTA_AT_SEC": "30",
    "AUTOWEBINAR_HEARTBEAT_SEC": "5",
    "AUTOWEBINAR_CTA_URL": "https://partner.example/offer?ref={ref_id}&user={user_id}",
    "AUTOWEBINAR_LIVE_WEBINARS_URL": "https://site.example/webinars/",
    "AUTOWEBINAR_SITE_URL": "https://site.example/",
}


def seed_demo_referrals(app: Any) -> None:
    """Embedded demo only: give demo users a Core-style `ref` so events carry a ref_id.

    This writes to the private SQLite file of the demo, never to a WordPress database.
    """
    from sqlalchemy import select

    svc = services(app)
    if not svc.embedded:
        return
    table = svc.store.table
    with svc.engine.begin() as conn:
        have = set(conn.execute(select(table.c.user_id).where(table.c.meta_key == "ref")).scalars())
        rows = [{"user_id": uid, "meta_key": "ref", "meta_value": "demo-landing"}
                for uid in range(1, 101) if uid not in have]
        if rows:
            conn.execute(table.insert(), rows)


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(config_file: str | None, host: str, port: int) -> None:
    """Run on the embedded default (SQLite, demo video, demo secrets); print the page to open."""
    for key, value in DEMO_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # The demo's stand-in CRM receives the signed webhooks on this very server.
    loopback = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    os.environ.setdefault("AUTOWEBINAR_WEBHOOK_URLS", f"http://{loopback}:{port}/demo/webhooks")
    app = load_app(config_file)
    if services(app).embedded:
        seed_demo_referrals(app)
    else:
        click.echo("note: DATABASE_URL is set, so the demo uses that database.", err=True)
    base = f"http://{host}:{port}"
    click.echo(f"\nAutoWebinar demo (embedded SQLite in {app.instance_path})\n")
    # Only the page: it mints the player's and the admin's tokens itself (no token is
    # printed, even a demo one, so none ends up in a terminal log).
    click.echo(f"  Open {base}/demo : a stand-in WordPress page with the player, links to")
    click.echo("  the admin dashboard and to a new viewer, and the webhooks the CRM received.")
    click.echo("\n  Ctrl+C stops.\n")
    _serve_with_consumer(app, config_file, DEFAULT_SERVER, host, port, 1, 8)


@main.command()
@config_option
@click.option("--user-id", required=True, type=click.IntRange(min=1),
              help="WordPress user id (the token's sub).")
@click.option("--admin", is_flag=True, help="Mint an admin token (role=admin).")
@click.option("--ttl", default=None, type=click.IntRange(min=1, max=86400),
              help="Lifetime in seconds (default TOKEN_DEFAULT_TTL_SEC).")
def token(config_file: str | None, user_id: int, admin: bool, ttl: int | None) -> None:
    """Mint a viewer or admin token signed with EMBED_SECRET (prints only the token)."""
    from autowebinar_wp import tokens

    app = load_app(config_file)
    admin_ttl = app.config["ADMIN_TOKEN_TTL_SEC"]
    lifetime = ttl or app.config["TOKEN_DEFAULT_TTL_SEC"]
    if admin and ttl and ttl > admin_ttl:
        _fail(f"admin tokens live at most ADMIN_TOKEN_TTL_SEC = {admin_ttl} seconds")
    if admin:
        lifetime = min(lifetime, admin_ttl)
    click.echo(tokens.mint(app.config["EMBED_SECRET"], user_id,
                           "admin" if admin else "viewer", lifetime))


@main.command("live-link")
@config_option
@click.option("--user-id", required=True, type=click.IntRange(min=1),
              help="WordPress user id the email goes to (the link's sub).")
@click.option("--notification", required=True,
              help="Your id for this email or notification, e.g. reminder-24h (the link's n).")
@click.option("--url", "target", default=None,
              help="A click link to this http(s) target; without it, an open pixel.")
@click.option("--slot", "slot_id", default=None, help="The slot the email is about (optional).")
@click.option("--ttl-days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="How long the link works.")
@click.option("--base-url", default="", help="The sidecar's public URL, e.g. "
              "https://webinars.example.com (default: print the path only).")
def live_link(config_file: str | None, user_id: int, notification: str, target: str | None,
              slot_id: str | None, ttl_days: int, base_url: str) -> None:
    """Mint a tracking link (HS256, LIVE_LINK_SECRET) for a CRM email: /l/c/... or /l/o/...."""
    from autowebinar_wp.live import links

    app = load_app(config_file)
    live = services(app).live
    if not live.link_secret:
        _fail("LIVE_LINK_SECRET is not set: tracking links cannot be signed")
    if slot_id is not None and live.schedule.find(slot_id) is None:
        _fail(f"no slot with the id {slot_id!r} on the schedule")
    try:
        token = links.mint(str(live.link_secret), user_id, notification, url=target,
                           slot_id=slot_id, ttl_sec=ttl_days * 86400)
    except ValueError as exc:
        _fail(str(exc))
    kind = "c" if target else "o"
    click.echo(f"{base_url.rstrip('/')}/l/{kind}/{token}")


def run_consumer(config_file: str | None, workers: int = 2) -> None:
    """Sweep what a crash left behind, then consume deliveries until stopped."""
    app = load_app(config_file)
    outbox = services(app).outbox
    logging.getLogger("huey").setLevel(logging.WARNING)
    outbox.sweep()
    # A consumer restarted after a crash finds what the dead one was posting still leased;
    # one more sweep once every such lease has run out re-enqueues it, instead of waiting
    # for the periodic sweep (up to a minute later, and after RECOVERY_SEC more).
    outbox.sweep_task.schedule(delay=outbox.recovery_delay())
    consumer = outbox.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, initial_delay=0.1,
        backoff=1.15, max_delay=1.0, scheduler_interval=1, check_worker_health=True,
    )
    consumer.run()


@main.command()
@config_option
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Delivery threads.")
def worker(config_file: str | None, workers: int) -> None:
    """Run a webhook delivery consumer (several may share a Redis queue)."""
    run_consumer(config_file, workers)


def spawn_consumer(config_file: str | None) -> Any:
    """Start `autowebinar-wp worker` beside the web server (serve and demo)."""
    command = [sys.executable, "-m", "autowebinar_wp.cli", "worker"]
    if config_file:
        command += ["--config", config_file]
    return subprocess.Popen(command)  # noqa: S603 - our own module, no shell


def parse_since(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-11-01 or 2026-11-01T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command("replay-events")
@config_option
@click.option("--since", "since", required=True, help="Users seen since (ISO 8601, UTC).")
@click.option("--dry-run", is_flag=True, help="Count what would be sent; send nothing.")
def replay_events(config_file: str | None, since: str, dry_run: bool) -> None:
    """Re-emit the events derivable from usermeta (AutoWebinar's and the live module's),
    with their original ids."""
    import itertools
    from collections import Counter

    from tqdm import tqdm

    from autowebinar_wp.live.store import replay_payloads as live_replay
    from autowebinar_wp.replay import replay_payloads

    moment = parse_since(since)
    app = load_app(config_file)
    svc = services(app)
    outbox = svc.outbox
    if not dry_run and not outbox.enabled:
        _fail("WEBHOOK_URLS and WEBHOOK_SECRET must be set to replay events (or use --dry-run)")
    counts: Counter[str] = Counter()
    users = deliveries = 0
    store = svc.store
    progress = tqdm(unit=" users", disable=not sys.stderr.isatty(), file=sys.stderr)
    try:
        with svc.engine.connect() as conn:
            # AutoWebinar's events, then the live module's (each from its own keys only)
            batches = itertools.chain(
                replay_payloads(conn, store.table, moment, svc.session, store.ref_keys),
                live_replay(conn, svc.live.store.table, moment, store.ref_keys))
            for batch_users, payloads in batches:
                users += batch_users
                counts.update(p["event"] for p in payloads)
                if not dry_run:
                    deliveries += outbox.enqueue(payloads)
                progress.update(batch_users)
    except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        _fail(f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}")
    finally:
        progress.close()
    verb = "would enqueue" if dry_run else "enqueued"
    click.echo(f"{users} users seen since {moment.isoformat()}; {verb} "
               f"{sum(counts.values())} events ({deliveries} deliveries):")
    for name, count in sorted(counts.items()):
        click.echo(f"  {name:32} {count}")


# ---- `stats`: the admin's aggregates as terminal text ---------------------------------------

STAGE_LABELS = {"sessions": "Sessions", "joined": "Joined", "reached_25": "Reached 25%",
                "reached_50": "Reached 50%", "reached_75": "Reached 75%",
                "reached_100": "Reached 100%", "completed": "Completed",
                "cta_clicks": "CTA clicks"}
RATE_LABELS = {"joined_per_session": "joined / sessions",
               "completed_per_joined": "completed / joined",
               "cta_per_joined": "CTA clicks / joined",
               "cta_per_session": "CTA clicks / sessions",
               "completed_per_session": "completed / sessions"}
NICE_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
CURVE_ROWS, BAR_WIDTH = 20, 40


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def funnel_lines(funnel: Any) -> list[str]:
    """The funnel as a small fixed-width table: counts and shares of all sessions."""
    lines = [f"  {'Stage':<14}{'Users':>10}{'of sessions':>14}"]
    for name, count in funnel.stages():
        share = _percent(funnel.rate(count, funnel.sessions))
        lines.append(f"  {STAGE_LABELS[name]:<14}{count:>10,}{share:>14}")
    lines += ["", "  Conversion"]
    for name, value in funnel.rates().items():
        lines.append(f"    {RATE_LABELS[name]:<24}{_percent(value):>8}")
    return lines


def default_bucket(duration_sec: int) -> int:
    """The smallest round step that draws the curve in at most CURVE_ROWS rows."""
    for step in NICE_BUCKETS:
        if duration_sec / step <= CURVE_ROWS:
            return step
    return -(-duration_sec // CURVE_ROWS)


def clock_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def retention_lines(points: list[tuple[int, int]], cta_at_sec: int) -> list[str]:
    """The audience-retention curve as horizontal bars, the CTA moment marked."""
    joined = points[0][1]
    if not joined:
        return ["  Nobody has joined yet."]
    lines = [f"  {'At':>8}  {'still watching':<{BAR_WIDTH}}{'share':>8}{'viewers':>10}"]
    for t, viewers in points:
        filled = round(BAR_WIDTH * viewers / joined)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        mark = "  ◀ CTA" if t == cta_at_sec else ""
        lines.append(f"  {clock_text(t):>8}  {bar}{viewers / joined:>8.1%}{viewers:>10,}{mark}")
    return lines


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--refresh", is_flag=True,
              help="Rebuild the snapshot first, even if it is younger than "
                   "ADMIN_SNAPSHOT_MAX_AGE_SEC.")
@click.option("--bucket-sec", type=click.IntRange(min=1), default=None,
              help="Step of the retention curve in seconds (default: at most 20 rows).")
def stats(config_file: str | None, as_json: bool, refresh: bool,
          bucket_sec: int | None) -> None:
    """The funnel and the audience-retention curve in the terminal (from the admin snapshot)."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from autowebinar_wp.reports import retention_points

    app = load_app(config_file)
    svc = services(app)
    duration = svc.session.duration_sec
    bucket = bucket_sec or default_bucket(duration)
    if bucket > duration:
        _fail(f"--bucket-sec must be at most the video's duration ({duration} s)")
    try:
        snapshot = svc.snapshots.read()
        age = (svc.now() - snapshot.computed_at).total_seconds() if snapshot else None
        if snapshot is None or refresh or age is None or age > svc.snapshots.max_age_sec:
            snapshot = svc.snapshots.rebuild()
        points = retention_points(svc.snapshots.retention(snapshot), bucket,
                                  also=(svc.session.cta_at,))
    except SQLAlchemyError as exc:
        _fail(f"database error: {str(getattr(exc, 'orig', exc)).splitlines()[0]}", 1)
        return
    funnel, table = snapshot.funnel, svc.store.table.name
    computed = snapshot.computed_at.isoformat(timespec="seconds")
    if as_json:
        click.echo(json.dumps({
            **dict(funnel.stages()), "rates": funnel.rates(), "table": table,
            "computed_at": computed,
            "retention": {"bucket_sec": bucket, "duration_sec": duration,
                          "cta_at_sec": svc.session.cta_at, "joined": points[0][1],
                          "points": [{"t": t, "viewers": v} for t, v in points]},
        }, indent=2))
        return
    click.echo(f"AutoWebinar funnel ({table}, as of {computed})\n")
    click.echo("\n".join(funnel_lines(funnel)))
    click.echo(f"\n  Audience retention: who was still watching, every {clock_text(bucket)}\n")
    click.echo("\n".join(retention_lines(points, svc.session.cta_at)))


if __name__ == "__main__":
    main()
