"""The live schedule: parsing, validation, DST, stable ids, upcoming slots (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowebinar_wp.errors import ConfigError
from autowebinar_wp.live.schedule import Schedule, parse_live

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
URL = "https://stream.example/live"


def schedule(now: datetime = NOW, **table: object) -> Schedule:
    base: dict[str, object] = {"timezone": "Europe/Berlin", "join_url": URL, "title": "Weekly"}
    return parse_live({**base, **table}, now)


def problems(table: dict[str, object], now: datetime = NOW) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_live(table, now)
    return caught.value.problems


# ---- DST: a weekly 19:00 stays 19:00 local ------------------------------------------------


def test_weekly_slot_keeps_its_wall_clock_across_the_end_of_summer_time() -> None:
    # The last Sunday of October 2026 is the 25th: CEST (UTC+2) -> CET (UTC+1) at 03:00.
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;BYDAY=SU", "at": "19:00"}])
    slots = s.upcoming(datetime(2026, 10, 12, tzinfo=UTC), 3)
    assert [x.id for x in slots] == ["2026-10-18T1900", "2026-10-25T1900", "2026-11-01T1900"]
    assert [x.starts_at for x in slots] == [
        datetime(2026, 10, 18, 17, 0, tzinfo=UTC),  # 19:00 CEST
        datetime(2026, 10, 25, 18, 0, tzinfo=UTC),  # 19:00 CET, the day the clocks change
        datetime(2026, 11, 1, 18, 0, tzinfo=UTC),
    ]
    assert {x.local_start().time() for x in slots} == {time(19, 0)}


def test_weekly_slot_keeps_its_wall_clock_across_the_start_of_summer_time() -> None:
    # The last Sunday of March 2027 is the 28th: CET (UTC+1) -> CEST (UTC+2) at 02:00.
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;BYDAY=SU", "at": "19:00"}])
    slots = s.upcoming(datetime(2027, 3, 15, tzinfo=UTC), 3)
    assert [x.id for x in slots] == ["2027-03-21T1900", "2027-03-28T1900", "2027-04-04T1900"]
    assert [x.starts_at.hour for x in slots] == [18, 17, 17]
    assert {x.local_start().time() for x in slots} == {time(19, 0)}
    assert {x.local_start().utcoffset() for x in slots[1:]} == {timedelta(hours=2)}


def test_a_wall_time_inside_the_spring_gap_takes_the_offset_from_before_it() -> None:
    # 02:30 does not exist in Berlin on 2027-03-28; RFC 5545 §3.3.5: read it with the offset
    # in force before the gap (+01:00), i.e. 01:30 UTC = 03:30 CEST.
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;BYDAY=SU", "at": "02:30"}])
    slot = s.find("2027-03-28T0230")
    assert slot is not None
    assert slot.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert slot.local_start().strftime("%H:%M %z") == "03:30 +0200"


def test_a_repeated_wall_time_in_the_autumn_is_the_first_of_the_two() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25; RFC 5545: the first (CEST, 00:30 UTC).
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;BYDAY=SU", "at": "02:30"}])
    slot = s.find("2026-10-25T0230")
    assert slot is not None
    assert slot.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_one_off_slot_in_local_time_and_with_an_explicit_offset() -> None:
    s = schedule(slots=[
        {"id": "winter", "starts_at": "2026-12-10T19:00:00"},          # Berlin, CET
        {"id": "summer", "starts_at": datetime(2027, 7, 1, 19, 0)},    # TOML local datetime
        {"id": "offset", "starts_at": "2026-12-11T19:00:00+03:00"},    # explicit offset wins
        {"id": "utc", "starts_at": "2026-12-12T08:00:00Z"},
    ])
    got = {slot.id: slot.starts_at for slot in s.one_off}
    assert got == {
        "winter": datetime(2026, 12, 10, 18, 0, tzinfo=UTC),
        "summer": datetime(2027, 7, 1, 17, 0, tzinfo=UTC),
        "offset": datetime(2026, 12, 11, 16, 0, tzinfo=UTC),
        "utc": datetime(2026, 12, 12, 8, 0, tzinfo=UTC),
    }


# ---- ids, lookup, statuses ------------------------------------------------------------------


def test_recurring_ids_are_local_starts_and_find_re_derives_the_slot() -> None:
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;BYDAY=TU,TH", "at": "19:00"}])
    for slot in s.upcoming(NOW, 10):
        assert slot.id == slot.local_start().strftime("%Y-%m-%dT%H%M")
        assert s.find(slot.id) == slot
    assert s.find("2026-10-07T1900") is None  # a Wednesday: not an occurrence
    assert s.find("2026-10-06T1800") is None  # right day, wrong time
    assert s.find("2026-02-30T1900") is None  # not a date
    for garbage in ("", "../etc/passwd", "x" * 65, "a b", "2026-10-06T1900.ics", None, 42):
        assert s.find(garbage) is None  # type: ignore[arg-type]


def test_ids_are_stable_across_restarts() -> None:
    table = {"schedules": [{"rrule": "FREQ=DAILY", "at": "08:15"}]}
    first = schedule(**table).upcoming(NOW, 5)
    again = schedule(now=NOW + timedelta(days=3), **table).upcoming(NOW, 5)
    assert [s.id for s in first] == [s.id for s in again]


def test_status_follows_the_room_and_the_broadcast() -> None:
    s = schedule(open_before_min=10, duration_min=90,
                 slots=[{"id": "a", "starts_at": "2026-10-01T19:00:00"}])
    slot = s.one_off[0]
    start = slot.starts_at
    assert slot.status(start - timedelta(minutes=10, seconds=1)) == "upcoming"
    assert slot.status(start - timedelta(minutes=10)) == "open"
    assert slot.status(start - timedelta(seconds=1)) == "open"
    assert slot.status(start) == "live"
    assert slot.status(start + timedelta(minutes=89, seconds=59)) == "live"
    assert slot.status(start + timedelta(minutes=90)) == "ended"


def test_upcoming_merges_sources_skips_ended_and_keeps_the_one_on_air() -> None:
    s = schedule(duration_min=60, schedules=[{"rrule": "FREQ=DAILY", "at": "13:30"}],
                 slots=[{"id": "special", "starts_at": "2026-10-01T20:00:00"},
                        {"id": "past", "starts_at": "2026-09-01T20:00:00"}])
    now = datetime(2026, 10, 1, 11, 45, tzinfo=UTC)  # 13:45 Berlin: today's 13:30 is on air
    slots = s.upcoming(now, 3)
    assert [x.id for x in slots] == ["2026-10-01T1330", "special", "2026-10-02T1330"]
    assert slots[0].status(now) == "live"
    assert s.upcoming(now, 0) == []
    assert s.find("past") is not None  # ended slots are still found (the room's last screen)


def test_per_slot_settings_override_the_defaults() -> None:
    s = schedule(duration_min=90, embed=True, schedules=[
        {"rrule": "FREQ=DAILY", "at": "10:00", "title": "Morning", "duration_min": 30,
         "join_url": "https://zoom.example/j/1", "embed": False}])
    slot = s.upcoming(NOW, 1)[0]
    assert (slot.title, slot.duration, slot.join_url, slot.embed) == (
        "Morning", timedelta(minutes=30), "https://zoom.example/j/1", False)


def test_until_in_utc_and_an_explicit_first_date() -> None:
    s = schedule(schedules=[{"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20261103T000000Z",
                             "at": "19:00", "from": "2026-10-05"}])
    assert [x.id for x in s.upcoming(NOW, 10)] == ["2026-10-05T1900", "2026-10-19T1900",
                                                    "2026-11-02T1900"]


def test_count_with_a_first_date_ends() -> None:
    s = schedule(schedules=[{"rrule": "FREQ=DAILY;COUNT=2", "at": "19:00",
                             "from": date(2026, 10, 2)}])
    assert [x.id for x in s.upcoming(NOW, 5)] == ["2026-10-02T1900", "2026-10-03T1900"]


def test_no_slots_at_all_is_a_valid_empty_schedule() -> None:
    s = parse_live({}, NOW)
    assert not s.has_slots
    assert s.upcoming(NOW, 6) == []
    assert s.find("anything") is None


# ---- validation: one error listing every problem --------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    found = problems({
        "timezone": "Europe/Moskva",
        "join_url": "ftp://nope",
        "duration_min": 0,
        "tittle": "typo",
        "slots": [
            {"id": "a", "starts_at": "2026-12-10T19:00:00"},
            {"id": "a", "starts_at": "2026-12-11T19:00:00"},
            {"id": "bad id!", "starts_at": "tomorrow"},
        ],
        "schedules": [
            {"rrule": "FREQ=WEEKLY;BYDAY=XX", "at": "19:00"},
            {"rrule": "FREQ=HOURLY", "at": "7pm"},
        ],
    })
    text = "\n".join(found)
    for expected in (
        "live.timezone: unknown IANA time zone 'Europe/Moskva'",
        "live.join_url: must be an http(s) URL",
        "live.duration_min: must be from 1 to 1440 minutes, got 0",
        "live.tittle: unknown setting",
        "live.slots[1].id: duplicate id 'a' (also live.slots[0])",
        "live.slots[2].starts_at: must be a date and time",
        "live.slots[2].id: must be 1-64 letters",
        "live.schedules[0].rrule: 'FREQ=WEEKLY;BYDAY=XX': invalid 'BYDAY': XX",
        "live.schedules[1].at: must be a local time \"HH:MM\", got '7pm'",
        "live.schedules[1].rrule: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
    ):
        assert expected in text, f"missing {expected!r} in:\n{text}"


@pytest.mark.parametrize(("rule", "message"), [
    ("", "is not an RFC 5545 RRULE"),
    ("FREQ=WEEKLY;BYDAY=TU\nFREQ=DAILY", "must be one RRULE line"),
    ("FREQ=DAILY;BYHOUR=19", "BYHOUR is not allowed here"),
    ("FREQ=DAILY;DTSTART=20260101T000000", "DTSTART is not allowed here"),
    ("FREQ=WEEKLY", "live.schedules[0].from: is required for this rule (FREQ=WEEKLY without"),
    ("FREQ=DAILY;INTERVAL=3", "INTERVAL > 1 counts from the first occurrence"),
    ("FREQ=DAILY;COUNT=5", "COUNT counts from the first occurrence"),
    ("FREQ=DAILY;UNTIL=2026", "UNTIL"),
    ("FREQ=DAILY;FOO=1", "unknown parameter 'FOO'"),
    ("FREQ=DAILY;FREQ=WEEKLY", "is not an RFC 5545 RRULE"),
])
def test_bad_rrules(rule: str, message: str) -> None:
    found = problems({"timezone": "UTC", "join_url": URL,
                      "schedules": [{"rrule": rule, "at": "19:00"}]})
    assert any(message in p for p in found), found


def test_overlapping_ids_between_sources() -> None:
    found = problems({
        "timezone": "Europe/Berlin", "join_url": URL,
        "slots": [{"id": "2026-10-06T1900", "starts_at": "2026-10-06T19:00:00"}],
        "schedules": [{"rrule": "FREQ=WEEKLY;BYDAY=TU", "at": "19:00"},
                      {"rrule": "FREQ=DAILY", "at": "19:00"}],
    })
    text = "\n".join(found)
    assert "live.schedules[0]: its occurrence 2026-10-06T1900 has the same id as the one-off " \
           "slot live.slots[0]" in text
    assert "live.schedules[1]: its occurrence 2026-10-01T1900 is also an occurrence" not in text
    assert "is also an occurrence of live.schedules[0]" in text


def test_slots_need_a_zone_and_a_stream() -> None:
    found = problems({"slots": [{"id": "a", "starts_at": "2026-12-10T19:00:00"}]})
    assert any(p.startswith("live.timezone: an IANA time zone is required") for p in found)
    assert any(p.startswith("live.slots[0].join_url: no join_url") for p in found)


def test_not_a_table() -> None:
    assert problems(["nope"]) == ["live: must be a table ([live]), got ['nope']"]  # type: ignore[arg-type]
    found = problems({"timezone": "UTC", "join_url": URL, "slots": {"id": "x"}})
    assert found == ["live.slots: must be an array of tables ([[live.slots]]), "
                     "got {'id': 'x'}"]


# ---- properties ------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "Europe/Moscow", "America/New_York", "Australia/Sydney",
         "Asia/Kolkata", "America/Sao_Paulo", "UTC"]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES),
       days=st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
                     min_size=1, max_size=7, unique=True),
       hour=st.integers(0, 23), minute=st.sampled_from([0, 15, 30, 45]),
       offset_days=st.integers(0, 3 * 365), limit=st.integers(1, 12))
def test_weekly_rules_keep_the_wall_clock_and_ids_round_trip(
        zone: str, days: list[str], hour: int, minute: int, offset_days: int,
        limit: int) -> None:
    s = parse_live({"timezone": zone, "join_url": URL, "duration_min": 45, "schedules": [
        {"rrule": f"FREQ=WEEKLY;BYDAY={','.join(days)}", "at": f"{hour:02d}:{minute:02d}"}]},
        NOW)
    now = NOW + timedelta(days=offset_days, minutes=7 * offset_days)
    slots = s.upcoming(now, limit)
    assert len(slots) == limit
    assert [x.starts_at for x in slots] == sorted(x.starts_at for x in slots)
    assert len({x.id for x in slots}) == limit
    tz = ZoneInfo(zone)
    for slot in slots:
        assert slot.ends_at > now
        assert s.find(slot.id) == slot
        local = slot.starts_at.astimezone(tz)
        naive = datetime.strptime(slot.id, "%Y-%m-%dT%H%M")
        # The wall clock is `at`, except where `at` falls in a DST gap (then one hour on).
        if local.replace(tzinfo=None) != naive:
            assert naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(
                tzinfo=None) != naive  # the wall time does not exist in this zone
        assert naive.strftime("%a")[:2].upper() in days
