"""reports.py on SQLite and MariaDB: every count against a plain-Python recount.

The population (tests/admin_population.py) has every funnel stage, WordPress duplicates
and hand-edited garbage in every key; the scan reads it in tiny batches so that users'
rows fall into several of them.
"""

from __future__ import annotations

import math
import random
import string
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from autowebinar_wp import reports
from autowebinar_wp.codec import encode_state
from autowebinar_wp.session import Join, SessionConfig, decide, has_joined
from autowebinar_wp.state import META_KEYS, State
from autowebinar_wp.store import usermeta_table
from tests.admin_population import (
    CTA_AT,
    DURATION,
    PREFIX,
    SORTS,
    Populated,
    create_table,
    drop_table,
    expected_funnel,
    expected_order,
    expected_retention,
    expected_row,
    members,
)
from tests.support import Backend

K = META_KEYS
TABLE = usermeta_table(PREFIX)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def tiny(sleeps: Sleeps | None = None) -> reports.Pace:
    """Batches of 97 umeta_ids: most users' rows are split across two of them."""
    return reports.Pace(batch_ids=97, pause_ratio=0.5, sleep=sleeps if sleeps is not None
                        else Sleeps())


# ---- the funnel, the curve, the orders --------------------------------------------------------


def test_the_tally_matches_a_python_recount(populated: Populated) -> None:
    stats = reports.ScanStats()
    tally = reports.tally(populated.backend.engine, TABLE, DURATION, tiny(), stats=stats)
    expected = expected_funnel(populated.rows)
    # every stage present, so a wrong condition cannot hide behind a zero
    assert all(expected.values()) and len(set(expected.values())) > 5, expected
    assert dict(tally.funnel.stages()) == expected
    assert stats.odd_users >= 15  # the garbage went the codec way
    assert stats.batches > 50
    for bucket in (1, 7, 25, 60, DURATION):
        assert reports.retention_points(tally.retention, bucket, also=(CTA_AT,)) == (
            expected_retention(populated.rows, bucket)), bucket
        assert reports.retention_points(tally.retention, bucket) == expected_retention(
            populated.rows, bucket, cta_at=None), bucket
    assert int(tally.retention.sum()) == expected["joined"]
    for sort in SORTS:
        assert tally.orders[sort].tolist() == expected_order(populated.rows, sort, False), sort


def test_the_sql_reading_equals_codec_for_every_user(populated: Populated) -> None:
    """Where SQL decodes a value itself, it reads what codec reads (the odd ones go to codec)."""
    per_user = reports.scan(populated.backend.engine, TABLE, tiny())
    with populated.backend.engine.connect() as conn:
        by_codec = reports.decode_users(conn, TABLE, per_user[:, reports.UID].tolist())
    members_only = per_user[:, reports.SESSION] == 1
    assert members_only.sum() == len(members(populated.rows))
    np.testing.assert_array_equal(per_user[members_only], by_codec[members_only])


GARBAGE_ALPHABET = string.digits * 4 + " -:+.eE\t" + "\u00a0\uff11\uff15\u200d" + "aZ"


def garbage(rng: random.Random) -> str | None:
    """A value that is sometimes right, often nearly right, sometimes nothing like it."""
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.3:  # a real datetime, maybe damaged in one place
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
        value = list(moment.strftime("%Y-%m-%d %H:%M:%S"))
        if rng.random() < 0.6:
            value[rng.randrange(len(value))] = rng.choice(GARBAGE_ALPHABET)
        return "".join(value)
    if roll < 0.6:  # a number in some spelling
        return rng.choice(["", " ", "+", "0", "-"]) + str(rng.choice(
            [0, 1, 25, 50, 75, 100, rng.randrange(10**7)])) + rng.choice(["", " ", ".0", "x"])
    return "".join(rng.choice(GARBAGE_ALPHABET) for _ in range(rng.randrange(0, 22)))


def test_random_spellings_read_as_codec_reads_them(backend: Backend) -> None:
    prefix = "awg_"
    create_table(backend, prefix)
    try:
        rng = random.Random(12)
        rows = []
        for uid in range(1, 401):
            rows.append((uid, K["session_id"], rng.choice(["x", garbage(rng)])))
            for key in K.values():
                for _copy in range(rng.choice([1, 1, 1, 2])):
                    rows.append((uid, key, garbage(rng)))
        data = Populated(backend, table=f"{prefix}usermeta")
        data.insert(rows)
        table = usermeta_table(prefix)
        per_user = reports.scan(backend.engine, table, tiny())
        with backend.engine.connect() as conn:
            by_codec = reports.decode_users(conn, table, per_user[:, reports.UID].tolist())
        may_count = per_user[:, reports.SESSION] != 0
        np.testing.assert_array_equal(per_user[may_count], by_codec[may_count])
        tally = reports.aggregate(per_user, DURATION)
        assert dict(tally.funnel.stages()) == expected_funnel(rows)
    finally:
        drop_table(backend, prefix)


def test_an_empty_table(backend: Backend) -> None:
    create_table(backend, "awe_")
    try:
        tally = reports.tally(backend.engine, usermeta_table("awe_"), DURATION)
        assert set(dict(tally.funnel.stages()).values()) == {0}
        assert set(tally.funnel.rates().values()) == {None}
        assert reports.retention_points(tally.retention, 60) == [(0, 0), (60, 0), (100, 0)]
        assert all(len(order) == 0 for order in tally.orders.values())
    finally:
        drop_table(backend, "awe_")


# ---- load on the database: batches and pauses ------------------------------------------------


def test_one_query_per_batch_then_a_pause(populated: Populated) -> None:
    sleeps, renewed, statements = Sleeps(), [], []
    engine = populated.backend.engine
    from sqlalchemy import event

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        stats = reports.ScanStats()
        reports.scan(engine, TABLE, tiny(sleeps), on_batch=lambda: renewed.append(1),
                     stats=stats)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as conn:
        low, high = conn.execute(text(f"SELECT MIN(umeta_id), MAX(umeta_id) "  # noqa: S608
                                      f"FROM {PREFIX}usermeta")).one()
    batches = math.ceil((high - low + 1) / 97)
    assert stats.batches == len(renewed) == batches
    assert len(sleeps) == batches - 1  # a pause between batches, none after the last
    assert all(pause > 0 for pause in sleeps)
    assert stats.pause_sec == pytest.approx(0.5 * stats.query_sec, rel=0.5)
    scans = [s for s in statements if "GROUP BY" in s.upper()]
    assert len(scans) == batches  # one statement per batch, nothing else heavy


# ---- rows as WordPress shows them ------------------------------------------------------------


def test_listed_rows_show_the_oldest_copy(populated: Populated) -> None:
    ids = [m.user_id for m in members(populated.rows)]
    with populated.backend.engine.connect() as conn:
        rows = reports.progress_rows(conn, TABLE, ids[::-1])
    assert [r.user_id for r in rows] == ids[::-1]
    for row in rows:
        want = expected_row(populated.rows, row.user_id)
        got = {"user_id": row.user_id, "session_id": row.session_id,
               "started_at": row.started_at.isoformat() if row.started_at else None,
               "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
               "joined": row.joined, "position_sec": row.position_sec,
               "progress_percent": row.progress_percent, "completed": row.completed,
               "cta_clicked_at": row.cta_clicked_at.isoformat() if row.cta_clicked_at else None}
        assert got == want


@pytest.mark.parametrize("batch_users", [1, 3, 50, 1000])
def test_the_export_lists_every_member_once_in_id_order(populated: Populated,
                                                        batch_users: int) -> None:
    extra = 10_000  # one member with more copies than a batch holds
    populated.insert([(extra, K["session_id"], "big")] + [(extra, K["last_seen_at"],
                                                           "2026-03-20 10:00:00")] * 9)
    batches = list(reports.export_batches(populated.backend.engine, TABLE, batch_users))
    listed = [row.user_id for batch in batches for row in batch]
    assert listed == sorted(m.user_id for m in members(populated.rows))
    # MariaDB reads `batch_users` users a query; SQLite as many rows as that many users have
    assert all(len(batch) <= batch_users * len(K) for batch in batches)
    by_id = {row.user_id: row for batch in batches for row in batch}
    assert by_id[extra].session_id == "big"
    assert by_id[3].cta_clicked_at == datetime(2026, 4, 1, tzinfo=UTC)  # a row written late


# ---- pure parts --------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_valid_moments_are_exactly_the_real_datetimes(value: int) -> None:
    digits = f"{value:014d}"
    try:
        datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:8]), int(digits[8:10]),
                 int(digits[10:12]), int(digits[12:]))
        real = value >= 10**13  # years before 1000 are left to codec
    except ValueError:
        real = False
    assert bool(reports.valid_moments(np.array([value], dtype=np.int64))[0]) is real


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=80),
       st.integers(min_value=1, max_value=90), st.integers(min_value=-5, max_value=90))
def test_the_curve_falls_from_everyone_to_the_finishers(counts: list[int], bucket: int,
                                                        cta: int) -> None:
    histogram = np.array(counts, dtype=np.int64)
    points = reports.retention_points(histogram, bucket, also=(cta,))
    duration = len(counts) - 1
    assert points[0] == (0, sum(counts)) and points[-1] == (duration, counts[-1])
    extra = {cta} if 0 <= cta <= duration else set()
    assert [t for t, _ in points] == sorted({*range(0, duration, bucket), duration, *extra})
    assert all(v == sum(counts[t:]) for t, v in points)
    assert all(a[1] >= b[1] for a, b in zip(points, points[1:], strict=False))


def test_merge_takes_the_earliest_start_and_the_highest_rest() -> None:
    a = [7, 1, 20260301100000, 20260301110000, 0, 30, 25, 0]
    b = [7, 0, 20260301090000, 20260301100000, 20260301100500, 10, 50, 1]
    c = [3, 1, reports.NO_START, 0, 0, 0, 0, 0]
    merged = reports.merge([np.array([a, c], dtype=np.int64), np.array([b], dtype=np.int64)])
    assert merged.tolist() == [c, [7, 1, 20260301090000, 20260301110000, 20260301100500, 30,
                                   50, 1]]


# ---- can "joined" be read from one key? ------------------------------------------------------


def test_no_single_key_tells_who_joined() -> None:
    """For every key there are two states the service writes that agree on it, one joined
    and one not: a user in the waiting room and one who joined at the start and left at
    once differ only in last_seen_at, and two users seen at the same moment differ only in
    started_at. So "joined" needs two keys (the scan compares them in the same pass)."""
    config = SessionConfig(duration_sec=100, start_delay_sec=60)
    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    created = decide(State(), Join("s"), t0, config).state  # starts at t0 + 60: waiting
    waiting = created
    joined_at_start = decide(created, Join("s"), t0 + timedelta(seconds=60), config).state
    late = decide(State(), Join("s"), t0 - timedelta(seconds=120), config).state
    joined_late = decide(late, Join("s"), t0, config).state  # seen at t0, started before
    assert not has_joined(waiting) and has_joined(joined_at_start) and has_joined(joined_late)
    assert waiting.last_seen_at == joined_late.last_seen_at
    for key in K.values():
        pairs = [(waiting, joined_at_start), (waiting, joined_late)]
        assert any(encode_state(a).get(key) == encode_state(b).get(key) for a, b in pairs), key
