"""Durable, at-least-once webhook delivery on a Huey queue (never the WordPress database).

The queue (SqliteHuey in the instance folder, or RedisHuey when QUEUE_URL=redis://...)
holds only transient deliveries. Its key-value store doubles as a small journal, so no
event whose state change committed can be lost, whatever process dies when:

* ``aw:intent:<id>`` is written *before* the usermeta COMMIT with the events the change
  implies. After the COMMIT the deliveries are enqueued and the intent is deleted.
  A sweep finds intents older than RECOVERY_SEC (the web process died between the two)
  and re-derives from the user's *committed* usermeta state which of those events really
  happened (deterministic ids, see events.event_id): those are enqueued, the rest -
  a COMMIT that never happened - are dropped.
* ``aw:dlv:<delivery_id>`` marks each (event, URL) delivery until it ends. The task leases
  it while posting; a consumer killed mid-delivery leaves an expired lease, and the sweep
  enqueues it again.
* Retries are scheduled on the queue itself (persisted), with exponential backoff and jitter.

Duplicates are possible (at-least-once); every copy carries the same `webhook-id` = event_id,
which Standard Webhooks receivers use for deduplication.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.constants import EmptyData
from standardwebhooks import Webhook

log = logging.getLogger(__name__)

# Standard Webhooks' suggested schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
# (about 27.6 hours in all), each delay with +-20 % jitter.
DEFAULT_RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
RECOVERY_SEC = 60  # how old an intent or an unleased delivery must be before a sweep acts
INTENT, DELIVERY = "aw:intent:", "aw:dlv:"
AUTOWEBINAR = "autowebinar"  # the kind of the session events (session.Event)

Clock = Callable[[], float]


def backoff(schedule: Sequence[float], attempt: int, rng: random.Random | None = None) -> float:
    """Delay before attempt number `attempt` (0-based), jittered by +-20 %."""
    base = float(schedule[min(attempt, len(schedule) - 1)])
    if base <= 0:
        return 0.0
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


def classify(status: int | None) -> str:
    """'done', 'retry' or 'failed' for an HTTP status (None: no response at all)."""
    if status is None or status >= 500 or status in (408, 429):
        return "retry"
    if 200 <= status < 300:
        return "done"
    return "failed"  # other 4xx (and 3xx: we do not follow redirects to unknown places)


def safe_url(url: str) -> str:
    """What we may log of a URL: no credentials, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def delivery_id(event_id: str, url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_id}|{url}"))


@dataclass(frozen=True)
class Intent:
    key: str | None  # None: not journaled (no webhooks configured, the events are only logged)
    payloads: list[dict[str, Any]]


@dataclass
class Outbox:
    """The queue, the journal and the delivery task for one app's configuration."""

    huey: Huey
    urls: Sequence[str]
    secret: str | None
    timeout: float
    schedule: Sequence[float]
    recovery_sec: float = RECOVERY_SEC
    clock: Clock = time.time
    # kind -> (user id -> ids of the events that user's committed state implies); each module
    # whose events change state registers one, so a sweep can tell a COMMIT that happened.
    reconcilers: dict[str, Callable[[int], set[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.deliver_task = self.huey.task(name="autowebinar.deliver")(self._deliver)
        self.sweep_task = self.huey.periodic_task(crontab(minute="*"), name="autowebinar.sweep")(
            self.sweep
        )
        self._webhook = Webhook(self.secret) if self.secret else None

    @property
    def enabled(self) -> bool:
        return bool(self.urls) and self._webhook is not None

    @property
    def lease_sec(self) -> float:
        """How long a delivery in progress is leased to the consumer posting it."""
        return self.timeout + min(5.0, self.recovery_sec)

    def recovery_delay(self) -> float:
        """Seconds after which a sweep recovers whatever a consumer that just died held."""
        return self.lease_sec + self.recovery_sec + 1.0

    # ---- the journal (the queue's key-value store) -----------------------------------------

    def _put(self, key: str, value: Mapping[str, Any]) -> None:
        self.huey.storage.put_data(key, json.dumps(value).encode())

    def _get(self, key: str) -> dict[str, Any] | None:
        raw = self.huey.storage.peek_data(key)
        if raw is EmptyData:
            return None
        value: dict[str, Any] = json.loads(raw)
        return value

    def _delete(self, key: str) -> None:
        self.huey.storage.delete_data(key)

    def _keys(self, prefix: str) -> list[str]:
        keys = []
        for key in self.huey.storage.result_items():
            text = key.decode() if isinstance(key, bytes) else str(key)
            if text.startswith(prefix):
                keys.append(text)
        return keys

    # ---- the write path (called by the web request) -------------------------------------------

    def prepare(self, user_id: int, payloads: Sequence[dict[str, Any]],
                kind: str = AUTOWEBINAR) -> Intent | None:
        """Before COMMIT: journal the events this change implies (`kind` names the reconciler).

        Without webhooks nothing is journaled: `commit` only logs the events.
        """
        if not payloads:
            return None
        if kind not in self.reconcilers:
            raise ValueError(f"no reconciler registered for events of kind {kind!r}")
        if not self.enabled:
            return Intent(None, list(payloads))
        key = INTENT + str(uuid.uuid4())
        intent = Intent(key, list(payloads))
        self._put(key, {"user_id": user_id, "kind": kind, "created": self.clock(),
                               "payloads": intent.payloads})
        return intent

    def commit(self, intent: Intent | None) -> None:
        """After COMMIT: enqueue every delivery, then forget the intent.

        The payloads come from memory, not from the journal, so a sweep that raced us and
        already took the intent can only cause a duplicate, never a loss.
        """
        if intent is None:
            return
        self.enqueue(intent.payloads)
        if intent.key is not None:
            self._delete(intent.key)

    def discard(self, intent: Intent | None) -> None:
        """The change did not commit after all (a lost compare-and-set): forget the intent."""
        if intent is not None and intent.key is not None:
            self._delete(intent.key)

    def enqueue(self, payloads: Iterable[Mapping[str, Any]]) -> int:
        """Queue one delivery per (event, URL); without webhooks, log each event instead."""
        count = 0
        for body in payloads:
            if not self.enabled:
                # The one place events surface when no receiver is configured. No ref_id:
                # the log is not a place for referral data.
                extra = {"event": body["event"], "event_id": body["event_id"],
                         "user_id": body["user_id"]}
                if "progress" in body:
                    extra["progress"] = body["progress"]
                log.info("event", extra=extra)
                continue
            for url in self.urls:
                did = delivery_id(body["event_id"], url)
                self._put(DELIVERY + did, {"url": url, "payload": body, "attempt": 0,
                                           "due": self.clock(), "lease": 0})
                self.deliver_task(did)
                count += 1
        return count

    # ---- the delivery task (runs in the consumer) ----------------------------------------------

    def _deliver(self, did: str) -> str:
        key = DELIVERY + did
        record = self._get(key)
        if record is None:
            return "gone"  # already delivered (a duplicate task after a sweep)
        now = self.clock()
        record["lease"] = now + self.lease_sec
        self._put(key, record)
        body = record["payload"]
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        attempt = int(record["attempt"])
        status, retry_after, error = self._post(record["url"], body["event_id"], data)
        outcome = classify(status)
        if outcome == "retry" and attempt + 1 >= len(self.schedule):
            outcome = "failed"
        log.log(
            logging.INFO if outcome == "done" else logging.WARNING,
            "webhook delivery attempt",
            extra={"delivery_id": did, "event": body["event"], "event_id": body["event_id"],
                   "url": safe_url(record["url"]), "attempt": attempt + 1, "status": status,
                   "error": error, "outcome": outcome},
        )
        if outcome != "retry":
            self._delete(key)
            return outcome
        delay = max(backoff(self.schedule, attempt + 1), retry_after or 0)
        record.update(attempt=attempt + 1, due=now + delay, lease=0)
        self._put(key, record)
        self.deliver_task.schedule(args=(did,), delay=delay)
        return "retry"

    def _post(
        self, url: str, msg_id: str, data: str
    ) -> tuple[int | None, float | None, str | None]:
        import httpx  # the consumer's client: web workers never post, and need not load it

        assert self._webhook is not None
        # The signature's timestamp is the moment of sending on the wire, checked by the
        # receiver against its own clock (replay protection), not the app's clock.
        stamp = datetime.fromtimestamp(int(time.time()), UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "autowebinar-wp",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": self._webhook.sign(msg_id, stamp, data),
        }
        try:
            response = httpx.post(url, content=data.encode(), headers=headers,
                                  timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            return None, None, type(exc).__name__
        retry_after = None
        if response.status_code in (429, 503):
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except ValueError:
                retry_after = None
        return response.status_code, retry_after, None

    # ---- the sweep: recover from crashes -------------------------------------------------------

    def sweep(self) -> dict[str, int]:
        """Re-enqueue what a dead process left behind; runs every minute and at start-up."""
        now = self.clock()
        counts = {"intents": 0, "recovered_events": 0, "dropped_events": 0, "redelivered": 0}
        for key in self._keys(INTENT):
            record = self._get(key)
            if record is None or now - float(record["created"]) < self.recovery_sec:
                continue
            reconcile = self.reconcilers[record.get("kind", AUTOWEBINAR)]
            implied = reconcile(record["user_id"])
            keep = [p for p in record["payloads"] if p["event_id"] in implied]
            counts["intents"] += 1
            counts["recovered_events"] += len(keep)
            counts["dropped_events"] += len(record["payloads"]) - len(keep)
            self.enqueue(keep)
            self._delete(key)
        for key in self._keys(DELIVERY):
            record = self._get(key)
            if record is None:
                continue
            lost = float(record["due"]) + self.recovery_sec < now and float(record["lease"]) < now
            if lost:
                record.update(due=now, lease=0)
                self._put(key, record)
                self.deliver_task(key[len(DELIVERY):])
                counts["redelivered"] += 1
        if any(counts.values()):
            log.warning("outbox sweep recovered work", extra=counts)
        return counts

    def pending(self) -> int:
        return len(self._keys(DELIVERY))


def make_huey(queue_url: str | None, instance_path: str, name: str = "autowebinar") -> Huey:
    """The queue (or, with another `name`, a separate key-value space in the same place)."""
    if queue_url and queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=queue_url, results=False, utc=True)
    import os

    os.makedirs(instance_path, exist_ok=True)
    filename = os.path.join(instance_path, "queue.sqlite3")
    return SqliteHuey(name, filename=filename, results=False, utc=True)


def from_config(config: Mapping[str, Any], instance_path: str, clock: Clock) -> Outbox:
    """The outbox an app's configuration describes (reconcilers are registered by the caller)."""
    return Outbox(
        huey=make_huey(config.get("QUEUE_URL"), instance_path),
        urls=list(config["WEBHOOK_URLS"]),
        secret=config.get("WEBHOOK_SECRET"),
        timeout=float(config["WEBHOOK_TIMEOUT_SEC"]),
        schedule=tuple(config.get("WEBHOOK_RETRY_SCHEDULE") or DEFAULT_RETRY_SCHEDULE),
        recovery_sec=float(config["OUTBOX_RECOVERY_SEC"]),
        clock=clock,
    )
