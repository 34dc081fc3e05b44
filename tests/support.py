"""Helpers shared by the test folders: backends, the app harness, a controllable clock.

A plain module (not a conftest), so every folder imports the same definitions.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from autowebinar_wp import tokens
from autowebinar_wp.db import create_embedded_schema, embedded_url, make_engine
from autowebinar_wp.events import event_id
from autowebinar_wp.services import Services, services
from autowebinar_wp.store import UserMetaStore
from tests.wordpress_fixtures import foreign_checksum, seed

MYSQL_ENV = "AUTOWEBINAR_TEST_MYSQL_URL"
REQUIRE_ENV = "AUTOWEBINAR_REQUIRE_MYSQL"
PREFIX = "wp_"
POOL = range(1, 3001)  # WordPress users with realistic meta; tests draw fresh ids from it
REF_KEYS = ("invited_by", "wh_ref", "ref")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clear_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove AUTOWEBINAR_* configuration from the environment (keeping the test controls)."""
    for key in list(os.environ):
        if key.startswith("AUTOWEBINAR_") and key not in (MYSQL_ENV, REQUIRE_ENV):
            monkeypatch.delenv(key)



@dataclass
class Backend:
    """One database with a seeded WordPress usermeta table."""

    name: str
    url: str
    engine: Engine
    table: str = f"{PREFIX}usermeta"
    ids: Iterator[int] = field(default_factory=lambda: iter(POOL))
    instance_path: str | None = None

    @property
    def store(self) -> UserMetaStore:
        return UserMetaStore(self.engine, PREFIX, REF_KEYS)

    def new_user(self, where: Callable[[int], bool] = lambda uid: True) -> int:
        """A user id no other test has touched (optionally one whose seeded meta fits)."""
        uid = next(self.ids)
        while not where(uid):
            uid = next(self.ids)
        return uid

    def rows(self, user_id: int, prefix: str = "autowebinar_") -> list[tuple[str, str | None]]:
        """The user's rows in one namespace (`autowebinar_` or `livewebinar_`), oldest first."""
        with self.engine.connect() as conn:
            return [
                (k, v)
                for k, v in conn.execute(
                    text(
                        f"SELECT meta_key, meta_value FROM {self.table} "  # noqa: S608
                        "WHERE user_id = :u AND meta_key LIKE :p ESCAPE '!' "
                        "ORDER BY umeta_id"
                    ),
                    {"u": user_id, "p": prefix.replace("_", "!_") + "%"},
                )
            ]

    def meta(self, user_id: int, prefix: str = "autowebinar_") -> dict[str, str | None]:
        return dict(self.rows(user_id, prefix))

    def all_rows(self, user_id: int) -> list[tuple[int, str | None, str | None]]:
        """Every usermeta row of the user (umeta_id, key, value): "nothing written" checks."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                text(f"SELECT umeta_id, meta_key, meta_value FROM {self.table} "  # noqa: S608
                     "WHERE user_id = :u ORDER BY umeta_id"), {"u": user_id})]

    def insert_raw(self, user_id: int, key: str, value: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {self.table} (user_id, meta_key, meta_value) "  # noqa: S608
                     "VALUES (:u, :k, :v)"),
                {"u": user_id, "k": key, "v": value},
            )

    def checksum(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return foreign_checksum(conn, self.table)



def sqlite_backend_at(instance: Path) -> Backend:
    instance.mkdir(parents=True, exist_ok=True)
    url = embedded_url(str(instance))
    engine = make_engine(url)
    create_embedded_schema(engine, PREFIX)
    with engine.begin() as conn:
        seed(conn, f"{PREFIX}usermeta", range(1, 301), PREFIX)
    return Backend("sqlite", url, engine, ids=iter(range(1, 301)), instance_path=str(instance))



# ---- the app on a backend, with an injectable clock and captured events -------------------

SECRET = "test-embed-secret-0123456789abcdef0123456789"
T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


@dataclass
class Harness:
    app: Flask
    backend: Backend
    clock: FakeClock
    events: list[tuple[int, str, int | None]] = field(default_factory=list)
    detach: Callable[[], None] = lambda: None  # stops collecting events
    anchors: dict[int, str] = field(default_factory=dict)  # user id -> latest anchor

    @property
    def services(self) -> Services:
        return services(self.app)

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def token(self, user_id: int, role: str = "viewer", ttl: int = 600) -> str:
        return tokens.mint(SECRET, user_id, role, ttl, now=self.clock().timestamp())

    def post(self, path: str, user_id: int | None = None, token: str | None = None,
             **kwargs: Any) -> TestResponse:
        """POST as the player does: bearer token, and the user's latest anchor echoed in a
        JSON body that has none (pass `"anchor"` explicitly to send another)."""
        headers = kwargs.pop("headers", {})
        if token is None and user_id is not None:
            token = self.token(user_id)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = kwargs.get("json")
        if isinstance(body, dict) and "anchor" not in body and user_id in self.anchors:
            kwargs["json"] = {**body, "anchor": self.anchors[user_id]}
        response = self.client.post(path, headers=headers, **kwargs)
        data = response.get_json(silent=True)
        if user_id is not None and isinstance(data, dict) and data.get("anchor"):
            self.anchors[user_id] = data["anchor"]
        return response


class EventLog(logging.Handler):
    """The events one app's outbox logged (what it does when no webhook is configured)."""

    def __init__(self, app: Flask, into: list[tuple[int, str, int | None]]) -> None:
        super().__init__(logging.INFO)
        self.app, self.into = app, into

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() != "event" or not has_app_context():
            return
        if current_app._get_current_object() is not self.app:  # type: ignore[attr-defined]
            return
        self.into.append((record.user_id, record.event, getattr(record, "progress", None)))


def attach(app: Flask, backend: Backend) -> Harness:
    """A harness on `app`: its clock under the test's control, its logged events collected."""
    harness = Harness(app, backend, FakeClock())
    services(app).clock = harness.clock
    handler = EventLog(app, harness.events)
    logging.getLogger("autowebinar_wp.outbox").addHandler(handler)
    harness.detach = lambda: logging.getLogger("autowebinar_wp.outbox").removeHandler(handler)
    return harness


def session_event_id(session_id: str, name: str, milestone: int | None = None) -> str:
    """The id the service gives the session event `name` (see events.event_id)."""
    from autowebinar_wp import session as s

    kinds: dict[str, type[s.Event]] = {k.name: k for k in (
        s.SessionCreated, s.Joined, s.ProgressReached, s.Completed, s.CtaClicked)}
    at = datetime(2026, 1, 1, tzinfo=UTC)  # the time is not part of the id
    if name == s.ProgressReached.name:
        return event_id(s.ProgressReached(session_id, at, milestone or 0))
    return event_id(kinds[name](session_id, at))
