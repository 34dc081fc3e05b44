"""Admin snapshots: the aggregates of one scan, kept outside WordPress and rebuilt on demand.

A snapshot is a cache of `reports.tally`: the funnel counts, the retention histogram and
the member ids in each sort order (ids only: no values, no history). It lives in the
service's instance folder, or in Redis when ADMIN_SNAPSHOT_URL=redis://... (several hosts
then share it), never in the WordPress database, and can always be rebuilt from usermeta.

* Fresh (younger than ADMIN_SNAPSHOT_MAX_AGE_SEC): served as it is.
* Stale: served at once, marked `stale`, while one background rebuild runs.
* Missing: the request builds it, or waits for the rebuild already under way.

Single flight: a rebuild holds a lease (an exclusive `flock` on a file in the instance
folder, shared by every worker process on the host; a Redis lock with an expiry renewed
after every batch when Redis is configured, shared by every host). Whoever cannot take the
lease never scans: it serves what there is or waits for the holder. A holder that dies
drops the lease with its process (flock) or when the lock expires (Redis).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, Table

from autowebinar_wp import reports
from autowebinar_wp.errors import ServiceUnavailable

log = logging.getLogger(__name__)

VERSION = 1
LEASE_SEC = 60  # a Redis lease lives this long unless renewed (after every batch)
REDIS_KEEP_SEC = 30 * 86400  # snapshots nobody rebuilt for a month expire in Redis
WAIT_POLL_SEC = 0.2


class SnapshotPending(ServiceUnavailable):
    code = "snapshot_pending"
    message = "The report is still being computed; try again in a moment."


# ---- where blobs live -------------------------------------------------------------------------


class Lease(Protocol):
    def renew(self) -> None: ...
    def release(self) -> None: ...


class Blobs(Protocol):
    """A small key -> bytes store with range reads and a single-flight lease."""

    def get(self, name: str) -> bytes | None: ...
    def get_range(self, name: str, start: int, stop: int) -> bytes | None: ...
    def put(self, name: str, data: bytes) -> None: ...
    def prune(self, prefix: str, keep: set[str]) -> None: ...
    def lease(self, name: str) -> Lease | None: ...
    def leased(self, name: str) -> bool: ...


class FileLease:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def renew(self) -> None:
        """Nothing to renew: the lock lasts as long as the file stays open."""

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


@dataclass
class FolderBlobs:
    """Files in a folder (written whole and renamed into place), flock for the lease."""

    path: Path

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def get_range(self, name: str, start: int, stop: int) -> bytes | None:
        try:
            with open(self.path / name, "rb") as handle:
                handle.seek(start)
                return handle.read(max(0, stop - start))
        except FileNotFoundError:
            return None

    def put(self, name: str, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.path / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def prune(self, prefix: str, keep: set[str]) -> None:
        for path in self.path.glob(f"{prefix}*"):
            if path.name not in keep and not path.name.endswith(".lock"):
                path.unlink(missing_ok=True)

    def _open_lock(self, name: str) -> int:
        return os.open(self.path / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def lease(self, name: str) -> Lease | None:
        fd = self._open_lock(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return FileLease(fd)

    def leased(self, name: str) -> bool:
        probe = self.lease(name)
        if probe is None:
            return True
        probe.release()
        return False


class RedisLease:
    def __init__(self, lock: Any) -> None:
        self.lock = lock

    def renew(self) -> None:
        self.lock.extend(LEASE_SEC, replace_ttl=True)

    def release(self) -> None:
        from redis.exceptions import LockError

        try:
            self.lock.release()
        except LockError:  # it expired meanwhile; nobody else's lock is touched
            log.warning("the snapshot lease had expired before its rebuild finished")


@dataclass
class RedisBlobs:
    """Redis strings (GETRANGE for slices) and a Redis lock (redis-py's) for the lease."""

    url: str
    prefix: str = "autowebinar:"
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        import redis

        self.client = redis.Redis.from_url(self.url)

    def get(self, name: str) -> bytes | None:
        value: bytes | None = self.client.get(self.prefix + name)
        return value

    def get_range(self, name: str, start: int, stop: int) -> bytes | None:
        if stop <= start:
            return b"" if self.client.exists(self.prefix + name) else None
        value: bytes = self.client.getrange(self.prefix + name, start, stop - 1)
        return value if value or self.client.exists(self.prefix + name) else None

    def put(self, name: str, data: bytes) -> None:
        self.client.set(self.prefix + name, data, ex=REDIS_KEEP_SEC)

    def prune(self, prefix: str, keep: set[str]) -> None:
        stale = [key for key in self.client.scan_iter(match=f"{self.prefix}{prefix}*")
                 if key.decode()[len(self.prefix):] not in keep
                 and not key.endswith(b":lease")]
        if stale:
            self.client.delete(*stale)

    def lease(self, name: str) -> Lease | None:
        lock = self.client.lock(f"{self.prefix}{name}:lease", timeout=LEASE_SEC,
                                blocking=False, thread_local=False)
        return RedisLease(lock) if lock.acquire() else None

    def leased(self, name: str) -> bool:
        return bool(self.client.exists(f"{self.prefix}{name}:lease"))


def blobs_from_config(config: Mapping[str, Any], instance_path: str) -> Blobs:
    url = config.get("ADMIN_SNAPSHOT_URL")
    if url:
        return RedisBlobs(str(url))
    return FolderBlobs(Path(instance_path) / "admin-snapshots")


# ---- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    generation: str
    computed_at: datetime
    duration_sec: int
    funnel: reports.Funnel
    members: int
    id_dtype: str  # numpy dtype of the stored ids
    took_sec: float

    def to_json(self, previous: str | None, table: str) -> dict[str, Any]:
        return {"version": VERSION, "generation": self.generation, "previous": previous,
                "table": table, "computed_at": self.computed_at.isoformat(),
                "duration_sec": self.duration_sec, "funnel": dict(self.funnel.stages()),
                "members": self.members, "id_dtype": self.id_dtype,
                "took_sec": self.took_sec}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(str(data["generation"]), datetime.fromisoformat(data["computed_at"]),
                   int(data["duration_sec"]), reports.Funnel(**data["funnel"]),
                   int(data["members"]), str(data["id_dtype"]), float(data["took_sec"]))


@dataclass(frozen=True)
class Served:
    """A snapshot as a view gets it: `stale` when older than the maximum age."""

    snapshot: Snapshot
    stale: bool
    refreshing: bool


def in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="admin-snapshot", daemon=True).start()


@dataclass(eq=False)
class Snapshots:
    """The admin aggregates of one usermeta table: read, served, rebuilt one at a time."""

    blobs: Blobs
    engine: Engine
    table: Table
    duration_sec: int
    max_age_sec: float
    pace: reports.Pace
    clock: Callable[[], datetime]
    background: Callable[[Callable[[], None]], None] = in_thread
    wait_sec: float = 120.0
    builds: int = 0  # rebuilds this process ran (tests and the bench count them)

    @property
    def scope(self) -> str:
        url = self.engine.url.render_as_string(hide_password=True)
        digest = hashlib.sha1(f"{url}|{self.table.name}".encode()).hexdigest()[:16]  # noqa: S324
        return f"admin-{digest}"

    # ---- reading ------------------------------------------------------------------------

    def _header(self) -> dict[str, Any] | None:
        raw = self.blobs.get(f"{self.scope}.json")
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(raw)
        except ValueError:
            return None
        matches = (data.get("version") == VERSION and data.get("table") == self.table.name
                   and data.get("duration_sec") == self.duration_sec)
        return data if matches else None  # another configuration's snapshot: rebuild

    def read(self) -> Snapshot | None:
        data = self._header()
        return Snapshot.from_json(data) if data else None

    def current(self, now: datetime) -> Served:
        """The snapshot to serve now; builds it (or waits for its build) when there is none."""
        snapshot = self.read()
        if snapshot is None:
            return Served(self.build_or_wait(), stale=False, refreshing=False)
        if (now - snapshot.computed_at).total_seconds() <= self.max_age_sec:
            return Served(snapshot, stale=False, refreshing=self.blobs.leased(self.scope))
        self.refresh()
        return Served(snapshot, stale=True, refreshing=True)

    def _ids(self, snapshot: Snapshot, name: str, start: int, stop: int) -> list[int]:
        import numpy as np  # with the first admin view, not at a worker's start (reports.py)

        size = np.dtype(snapshot.id_dtype).itemsize
        raw = self.blobs.get_range(f"{self.scope}.{snapshot.generation}.{name}",
                                   start * size, stop * size)
        if raw is None:  # pruned under us by a newer generation: the caller asks again
            raise SnapshotPending()
        return [int(v) for v in np.frombuffer(raw, dtype=snapshot.id_dtype)]

    def page_ids(self, snapshot: Snapshot, sort: str, descending: bool, offset: int,
                 limit: int) -> list[int]:
        """Member ids of one page: a slice of the stored order (read from its end if desc)."""
        total = snapshot.members
        if offset >= total:
            return []
        if not descending:
            return self._ids(snapshot, sort, offset, min(total, offset + limit))
        stop, start = total - offset, max(0, total - offset - limit)
        return self._ids(snapshot, sort, start, stop)[::-1]

    def retention(self, snapshot: Snapshot) -> reports.Ints:
        import numpy as np

        raw = self.blobs.get(f"{self.scope}.{snapshot.generation}.retention")
        if raw is None:
            raise SnapshotPending()
        return np.frombuffer(raw, dtype="<i8").astype(np.int64)

    # ---- building -----------------------------------------------------------------------

    def refresh(self) -> bool:
        """Start a rebuild in the background unless one is under way; True if started."""
        lease = self.blobs.lease(self.scope)
        if lease is None:
            return False
        self.background(lambda: self._build_logged(lease))
        return True

    def _build_logged(self, lease: Lease) -> None:
        try:
            self.build(lease)
        except Exception:  # a background rebuild must not die silently
            log.exception("admin snapshot rebuild failed")

    def build_or_wait(self) -> Snapshot:
        """Build now, or wait for the build another request (or host) is running."""
        deadline = time.monotonic() + self.wait_sec
        while True:
            lease = self.blobs.lease(self.scope)
            if lease is not None:
                done = self.read()  # finished while we waited for the lease: not twice
                if done is not None:
                    lease.release()
                    return done
                return self.build(lease)
            done = self.read()
            if done is not None:
                return done
            if time.monotonic() > deadline:
                raise SnapshotPending()
            time.sleep(WAIT_POLL_SEC)

    def rebuild(self) -> Snapshot:
        """A snapshot computed after this call began: built here, or by whoever was building."""
        before = self.read()
        deadline = time.monotonic() + self.wait_sec
        while True:
            lease = self.blobs.lease(self.scope)
            if lease is not None:
                return self.build(lease)
            done = self.read()
            if done is not None and (before is None or done.generation != before.generation):
                return done  # the rebuild under way has finished: use it, do not scan again
            if time.monotonic() > deadline:
                raise SnapshotPending()
            time.sleep(WAIT_POLL_SEC)

    def build(self, lease: Lease) -> Snapshot:
        """Scan, store the blobs, then the header that points at them; always frees the lease."""
        try:
            previous = self._header()
            computed_at = self.clock()
            started = time.perf_counter()
            tally = reports.tally(self.engine, self.table, self.duration_sec, self.pace,
                                  on_batch=lease.renew)
            generation = uuid.uuid4().hex[:12]
            ids = tally.orders["user_id"]
            dtype = "<u4" if len(ids) == 0 or int(ids.max()) < 2**32 else "<i8"
            names = {f"{self.scope}.json"}
            for sort, order in tally.orders.items():
                name = f"{self.scope}.{generation}.{sort}"
                self.blobs.put(name, order.astype(dtype).tobytes())
                names.add(name)
            retention = f"{self.scope}.{generation}.retention"
            self.blobs.put(retention, tally.retention.astype("<i8").tobytes())
            names.add(retention)
            snapshot = Snapshot(generation, computed_at, self.duration_sec, tally.funnel,
                                len(ids), dtype, round(time.perf_counter() - started, 3))
            old = previous.get("generation") if previous else None
            self.blobs.put(f"{self.scope}.json",
                           json.dumps(snapshot.to_json(old, self.table.name)).encode())
            self.builds += 1
            # Keep the previous generation a while: a page may be reading it right now.
            keep = names | ({f"{self.scope}.{old}.{s}" for s in (*reports.SORTS, "retention")}
                            if old else set())
            self.blobs.prune(f"{self.scope}.", keep)
            log.info("admin snapshot rebuilt",
                     extra={"members": snapshot.members, "took_sec": snapshot.took_sec})
            return snapshot
        finally:
            lease.release()


def from_config(config: Mapping[str, Any], instance_path: str, engine: Engine, table: Table,
                clock: Callable[[], datetime]) -> Snapshots:
    return Snapshots(
        blobs=blobs_from_config(config, instance_path),
        engine=engine,
        table=table,
        duration_sec=int(config["VIDEO_DURATION_SEC"]),
        max_age_sec=float(config["ADMIN_SNAPSHOT_MAX_AGE_SEC"]),
        pace=reports.Pace(batch_ids=int(config["ADMIN_SCAN_BATCH_ROWS"]),
                          pause_ratio=float(config["ADMIN_SCAN_PAUSE"])),
        clock=clock,
    )
