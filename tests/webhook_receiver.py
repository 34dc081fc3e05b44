"""A real HTTP receiver for the webhook tests: verifies every delivery with standardwebhooks."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SECRET = "whsec_" + base64.b64encode(b"receiver-test-secret-32-bytes!!!").decode()


@dataclass
class Receiver:
    url: str
    secret: str = SECRET
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # verified ones
    rejected: int = 0
    attempts: dict[str, int] = field(default_factory=dict)  # event_id -> requests seen
    # event name -> statuses to answer, in order, before answering 200
    script: dict[str, list[int]] = field(default_factory=dict)
    stall_first: float = 0.0  # seconds to hang on the first request(s)
    stall_status: int = 0  # hold only the first one, then answer it with this status
    stalled_id: str | None = None  # the webhook-id of the request that was stalled
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data()
        self.arrived.set()
        with self.lock:
            if self.stall_status:  # exactly one request is held, then refused
                first = self.stall_first > 0 and self.stalled_id is None
                if first:
                    self.stalled_id = request.headers.get("webhook-id", "")
            else:  # every request is held until one has been answered
                first = self.stall_first > 0 and sum(self.attempts.values()) == 0
        if first:
            time.sleep(self.stall_first)
            if self.stall_status:
                return Response("stalled", self.stall_status)(environ, start_response)
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception:  # noqa: BLE001 - any failure is a rejected delivery
            with self.lock:
                self.rejected += 1
            return Response("bad signature", 401)(environ, start_response)
        with self.lock:
            seen = self.attempts.get(payload["event_id"], 0)
            self.attempts[payload["event_id"]] = seen + 1
            statuses = self.script.get(payload["event"], [])
            status = statuses[seen] if seen < len(statuses) else 200
            if status == 200:
                self.deliveries.append({"payload": payload,
                                        "webhook-id": request.headers["webhook-id"]})
        return Response(json.dumps({"ok": status == 200}), status)(environ, start_response)

    def events(self) -> list[tuple[str, int | None, str]]:
        with self.lock:
            return [(d["payload"]["event"], d["payload"].get("progress"),
                     d["payload"]["event_id"]) for d in self.deliveries]

    def wait_for(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return
            time.sleep(0.05)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")


@contextmanager
def running_receiver(port: int = 0, **kwargs: Any) -> Iterator[Receiver]:
    """A receiver on `port` (0: any free one) until the block ends."""
    receiver = Receiver(url="", **kwargs)
    server = make_server("127.0.0.1", port, receiver.wsgi, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks?key=do-not-log"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def consuming(outbox: Any, workers: int = 2) -> Iterator[Any]:
    """Run a real Huey consumer (threads) for the duration of the block."""
    consumer = outbox.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=False, initial_delay=0.02,
        backoff=1.1, max_delay=0.1, scheduler_interval=1, check_worker_health=False,
    )
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
