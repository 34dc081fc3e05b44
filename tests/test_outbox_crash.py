"""kill -9 at the worst moments: every event whose state change committed still arrives."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from autowebinar_wp import tokens
from autowebinar_wp.services import services
from autowebinar_wp.state import META_KEYS
from tests import processes
from tests.processes import cli, stop
from tests.support import SECRET, free_port, session_event_id
from tests.webhook_receiver import running_receiver

pytestmark = [pytest.mark.slow, pytest.mark.mysql]


def environment(backend, instance: Path, receiver, **extra: str) -> dict[str, str]:
    return processes.environment(
        backend.url, instance,
        AUTOWEBINAR_WEBHOOK_URLS=receiver.url,
        AUTOWEBINAR_WEBHOOK_SECRET=receiver.secret,
        AUTOWEBINAR_WEBHOOK_RETRY_SCHEDULE="0,0.5,0.5,0.5",
        AUTOWEBINAR_WEBHOOK_TIMEOUT_SEC="2",
        AUTOWEBINAR_OUTBOX_RECOVERY_SEC="1",
        **extra,
    )


def expected(backend, uid: int) -> set[str]:
    sid = backend.meta(uid)[META_KEYS["session_id"]]
    return {session_event_id(sid, name)
            for name in ("autowebinar_session_created", "autowebinar_join")}


def test_server_killed_between_commit_and_enqueue(mysql_backend, tmp_path) -> None:
    uid = mysql_backend.new_user()
    port = free_port()
    with running_receiver() as receiver:
        env = environment(mysql_backend, tmp_path / "instance", receiver)
        server = cli("serve", "--port", str(port), "--workers", "1", "--threads", "2",
                     env={**env, "AUTOWEBINAR_FAILPOINT": "after_commit"})
        try:
            base = f"http://127.0.0.1:{port}"
            processes.wait_healthy(base, server)
            token = tokens.mint(SECRET, uid)
            with pytest.raises(httpx.HTTPError):  # the worker dies mid-request
                httpx.post(f"{base}/api/v1/session/join",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        finally:
            stop(server)
        # the state change committed, and nothing has been delivered
        assert META_KEYS["session_id"] in mysql_backend.meta(uid)
        want = expected(mysql_backend, uid)
        assert not want & {e[2] for e in receiver.events()}
        # restart: the consumer's start-up sweep finds the journaled intent
        time.sleep(1.2)
        consumer = cli("worker", env=env)
        try:
            receiver.wait_for(2, timeout=20)
        finally:
            stop(consumer)
        assert want <= {e[2] for e in receiver.events()}


def test_consumer_killed_mid_delivery(mysql_backend, tmp_path) -> None:
    from autowebinar_wp import create_app

    uid = mysql_backend.new_user()
    with running_receiver(stall_first=4.0) as receiver:
        env = environment(mysql_backend, tmp_path / "instance", receiver)
        app = create_app({"DATABASE_URL": mysql_backend.url, "EMBED_SECRET": SECRET,
                          "WEBHOOK_URLS": [receiver.url], "WEBHOOK_SECRET": receiver.secret,
                          "LOG_LEVEL": "WARNING"},
                         instance_path=str(tmp_path / "instance"))
        token = tokens.mint(SECRET, uid)
        response = app.test_client().post("/api/v1/session/join",
                                          headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        services(app).engine.dispose()
        want = expected(mysql_backend, uid)

        consumer = cli("worker", "--workers", "1", env=env)
        assert receiver.arrived.wait(20), "the consumer never posted"
        stop(consumer, signal.SIGKILL)  # kill -9 while the receiver holds the request
        time.sleep(3.5)  # the dead consumer's lease expires
        consumer = cli("worker", env=env)
        try:
            receiver.wait_for(3, timeout=20)
        finally:
            stop(consumer)
        delivered = [e[2] for e in receiver.events()]
        assert want <= set(delivered)
        assert max(receiver.attempts.values()) >= 2  # the interrupted one was sent again
