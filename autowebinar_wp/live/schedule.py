"""The live schedule (DESIGN §7 "Slots"): one-off and recurring slots from the `[live]` table.

Pure: no I/O and no clock reads; `now` always comes in from the caller.

* A one-off slot has a start in the schedule's IANA zone (or with an explicit UTC offset).
* A recurring slot is an RFC 5545 RRULE (python-dateutil) evaluated on the *local wall
  clock* of the zone, at a fixed local time `at`: the rule yields naive local datetimes
  ("every Tuesday 19:00") and only then is the zone attached, so a weekly 19:00 stays
  19:00 local across a DST change and its UTC time moves by the hour instead. A wall time
  that does not exist (inside a spring-forward gap) or exists twice (a fall-back hour) is
  resolved as RFC 5545 §3.3.5 says: with the offset before the gap, and the first of the two.
* A recurring slot's id is its local start, `YYYY-MM-DDTHHMM`: stable across restarts and
  readable in the CRM. `find(id)` re-derives the slot from the id alone.

`parse_live(table, defaults, now)` validates the whole table and raises one ConfigError
listing every problem (unknown zone, bad RRULE, duplicate or overlapping ids, bad times).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from autowebinar_wp.errors import ConfigError

Status = Literal["upcoming", "open", "live", "ended"]

SLOT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RECURRING_ID_FORMAT = "%Y-%m-%dT%H%M"
_RECURRING_ID_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{4}$")
# A recurring rule without `from` is anchored here (a Monday; rules walk from it, so a recent
# date keeps lookups short: no slot before it is ever needed). Only rules whose days do not
# depend on the anchor may omit `from` (see _needs_from), so the choice changes nothing.
DEFAULT_ANCHOR = date(2024, 1, 1)
# Overlapping ids of two sources are looked for this far ahead of start-up.
OVERLAP_HORIZON = timedelta(days=400)
MAX_DURATION_MIN = 24 * 60
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_UNTIL_RE = re.compile(r"^\d{8}(T\d{6}Z?)?$")
_RULE_PART_RE = re.compile(r"^[A-Z]+=[A-Za-z0-9,+\-:]+$")
_DAY_FIXING_PARTS = {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"}
_REFUSED_PARTS = {"BYHOUR", "BYMINUTE", "BYSECOND"}  # the local time is `at`, not the rule


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled broadcast. Times are aware UTC datetimes."""

    id: str
    starts_at: datetime
    duration: timedelta
    title: str
    join_url: str
    embed: bool
    timezone: str  # the schedule's IANA zone name
    open_before: timedelta

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.duration

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - self.open_before

    def status(self, now: datetime) -> Status:
        """upcoming -> open (the room opens before the start) -> live -> ended."""
        if now < self.opens_at:
            return "upcoming"
        if now < self.starts_at:
            return "open"
        if now < self.ends_at:
            return "live"
        return "ended"

    def local_start(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A recurring slot: an RRULE on the local wall clock at the local time `at`."""

    rule: rrule
    at: time
    title: str
    duration: timedelta
    join_url: str
    embed: bool

    def occurrences_from(self, local_naive: datetime) -> Iterator[datetime]:
        """Naive local starts at or after `local_naive`, in order (lazy; may be endless)."""
        yield from self.rule.xafter(local_naive, inc=True)

    def occurs_at(self, local_naive: datetime) -> bool:
        return bool(self.rule.after(local_naive, inc=True) == local_naive)


@dataclass(frozen=True)
class Schedule:
    """The validated `[live]` table: defaults, one-off slots and recurring rules."""

    title: str
    timezone: str
    zone: tzinfo
    duration: timedelta
    open_before: timedelta
    join_url: str
    embed: bool
    recording_url: str
    room_url: str
    one_off: tuple[Slot, ...] = ()
    recurring: tuple[Recurrence, ...] = ()
    _by_id: dict[str, Slot] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({slot.id: slot for slot in self.one_off})

    @property
    def has_slots(self) -> bool:
        return bool(self.one_off or self.recurring)

    def embed_origins(self) -> list[str]:
        """Origins of every stream shown in an iframe (the room page's CSP frame-src)."""
        urls = [s.join_url for s in self.one_off if s.embed]
        urls += [r.join_url for r in self.recurring if r.embed]
        return sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.netloc})

    def _slot(self, rec: Recurrence, local_naive: datetime) -> Slot:
        # fold=0: a repeated wall time is its first occurrence, a missing one takes the
        # offset from before the gap (RFC 5545 §3.3.5), which is what zoneinfo does.
        local = local_naive.replace(tzinfo=self.zone, fold=0)
        return Slot(
            id=local_naive.strftime(RECURRING_ID_FORMAT),
            starts_at=local.astimezone(UTC),
            duration=rec.duration,
            title=rec.title,
            join_url=rec.join_url,
            embed=rec.embed,
            timezone=self.timezone,
            open_before=self.open_before,
        )

    def _local_naive(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None, fold=0)

    def upcoming(self, now: datetime, limit: int) -> list[Slot]:
        """The next `limit` slots that have not ended (a slot on air now included), by start."""
        if limit <= 0:
            return []
        found: dict[str, Slot] = {}
        for slot in self.one_off:
            if slot.ends_at > now:
                found.setdefault(slot.id, slot)
        for rec in self.recurring:
            # Start a day plus a duration early on the wall clock: a DST change cannot then
            # hide a slot that is still on air; ended ones are skipped below.
            lower = self._local_naive(now - rec.duration) - timedelta(days=1)
            taken = 0
            for local in rec.occurrences_from(lower):
                slot = self._slot(rec, local)
                if slot.ends_at <= now:
                    continue
                found.setdefault(slot.id, slot)  # a one-off slot or an earlier rule wins
                taken += 1
                if taken >= limit:
                    break
        ordered = sorted(found.values(), key=lambda s: (s.starts_at, s.id))
        return ordered[:limit]

    def find(self, slot_id: str) -> Slot | None:
        """The slot with this id (past, present or future), or None."""
        if not isinstance(slot_id, str) or not SLOT_ID_RE.match(slot_id):
            return None
        slot = self._by_id.get(slot_id)
        if slot is not None or not _RECURRING_ID_RE.match(slot_id):
            return slot
        try:
            local = datetime.strptime(slot_id, RECURRING_ID_FORMAT)
        except ValueError:
            return None
        for rec in self.recurring:
            if rec.occurs_at(local):
                return self._slot(rec, local)
        return None


# ---- parsing and validation ----------------------------------------------------------------


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _zone(name: Any, problems: _Problems) -> ZoneInfo | None:
    if not isinstance(name, str) or not name.strip():
        problems.add("live.timezone", "an IANA time zone is required, e.g. \"Europe/Moscow\"")
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("live.timezone", f"unknown IANA time zone {name!r}")
        return None


def _text(table: Mapping[str, Any], key: str, where: str, problems: _Problems,
          default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        problems.add(f"{where}.{key}", f"must be a string, got {value!r}")
        return default
    return value.strip()


def _url(table: Mapping[str, Any], key: str, where: str, problems: _Problems,
         default: str = "") -> str:
    value = _text(table, key, where, problems, default)
    if value and not _is_http_url(value):
        problems.add(f"{where}.{key}", f"must be an http(s) URL, got {value!r}")
        return default
    return value


def _minutes(table: Mapping[str, Any], key: str, where: str, problems: _Problems,
             default: int, minimum: int) -> timedelta:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(f"{where}.{key}", f"must be a whole number of minutes, got {value!r}")
        return timedelta(minutes=default)
    if not minimum <= value <= MAX_DURATION_MIN:
        problems.add(f"{where}.{key}",
                     f"must be from {minimum} to {MAX_DURATION_MIN} minutes, got {value}")
        return timedelta(minutes=default)
    return timedelta(minutes=value)


def _flag(table: Mapping[str, Any], key: str, where: str, problems: _Problems,
          default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        problems.add(f"{where}.{key}", f"must be true or false, got {value!r}")
        return default
    return value


def _unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str,
                  problems: _Problems) -> None:
    for key in sorted(set(table) - allowed):
        problems.add(f"{where}.{key}", "unknown setting (a typo?)")


def _start(value: Any, zone: tzinfo, where: str, problems: _Problems) -> datetime | None:
    """A one-off start: local time in the zone, or with an explicit offset (TOML or text)."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        problems.add(f"{where}.starts_at",
                     f"must be a date and time such as \"2026-12-10T19:00:00\", got {value!r}")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone, fold=0)
    return moment.astimezone(UTC).replace(microsecond=0)


def _at(value: Any, where: str, problems: _Problems) -> time | None:
    if isinstance(value, time) and value.tzinfo is None:
        return value.replace(second=0, microsecond=0)
    match = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        problems.add(f"{where}.at", f"must be a local time \"HH:MM\", got {value!r}")
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _from_date(value: Any, where: str, problems: _Problems) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(f"{where}.from", f"must be a date \"YYYY-MM-DD\", got {value!r}")
    return None


def _rule_parts(text: str) -> dict[str, str] | None:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    parts = [p for p in body.split(";") if p]
    if not parts or not all(_RULE_PART_RE.match(p) for p in parts):
        return None
    result: dict[str, str] = {}
    for part in parts:
        name, _sep, value = part.partition("=")
        if name in result:
            return None
        result[name] = value
    return result


def _needs_from(parts: Mapping[str, str]) -> str | None:
    """Why this rule needs an explicit `from` date (its days depend on the anchor), or None."""
    if "COUNT" in parts:
        return "COUNT counts from the first occurrence"
    if parts.get("INTERVAL", "1") != "1":
        return "INTERVAL > 1 counts from the first occurrence"
    freq = parts.get("FREQ", "")
    if freq in ("WEEKLY", "MONTHLY", "YEARLY") and not (_DAY_FIXING_PARTS & set(parts)):
        return f"FREQ={freq} without BYDAY/BYMONTHDAY takes its day from the first occurrence"
    return None


def _rule(text: Any, at: time | None, anchor: date | None, zone: tzinfo, where: str,
          problems: _Problems) -> rrule | None:
    if not isinstance(text, str) or "\n" in text or "\r" in text:
        problems.add(f"{where}.rrule", f"must be one RRULE line, got {text!r}")
        return None
    parts = _rule_parts(text.upper())
    if parts is None:
        problems.add(f"{where}.rrule", f"is not an RFC 5545 RRULE: {text!r}")
        return None
    if parts.get("FREQ") not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        problems.add(f"{where}.rrule", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY "
                     f"(the time of day is `at`), got {parts.get('FREQ')!r}")
        return None
    refused = sorted(_REFUSED_PARTS & set(parts)) + (["DTSTART"] if "DTSTART" in parts else [])
    if refused:
        problems.add(f"{where}.rrule", f"{', '.join(refused)} is not allowed here: the local "
                     "time is `at` and the first date is `from`")
        return None
    reason = _needs_from(parts)
    if reason and anchor is None:
        problems.add(f"{where}.from", f"is required for this rule ({reason})")
        return None
    if "UNTIL" in parts:
        # RFC 5545: with a zoned DTSTART, UNTIL is UTC ("...Z"); the rule runs on the naive
        # local clock, so UNTIL is moved onto that clock (dateutil wants both alike).
        until = parts["UNTIL"]
        if not _UNTIL_RE.match(until):
            problems.add(f"{where}.rrule", f"UNTIL is not a date or UTC date-time: {until!r}")
            return None
        try:
            if until.endswith("Z"):
                moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                local = moment.astimezone(zone).replace(tzinfo=None)
                parts["UNTIL"] = local.strftime("%Y%m%dT%H%M%S")
        except ValueError:
            problems.add(f"{where}.rrule", f"UNTIL is not a date or UTC date-time: {until!r}")
            return None
    if at is None:
        return None
    start = datetime.combine(anchor or DEFAULT_ANCHOR, at)
    line = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        rule = rrulestr(line, dtstart=start, cache=True)
    except (ValueError, TypeError) as exc:
        problems.add(f"{where}.rrule", f"{text!r}: {exc}")
        return None
    if not isinstance(rule, rrule):
        problems.add(f"{where}.rrule", f"must be one RRULE, got {text!r}")
        return None
    return rule


SCHEDULE_KEYS = {"title", "timezone", "duration_min", "join_url", "embed", "open_before_min",
                 "recording_url", "room_url", "slots", "schedules"}
SLOT_KEYS = {"id", "starts_at", "title", "duration_min", "join_url", "embed"}
RECURRENCE_KEYS = {"rrule", "at", "from", "title", "duration_min", "join_url", "embed"}


def _tables(value: Any, where: str, problems: _Problems) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        problems.add(where, f"must be an array of tables ([[{where}]]), got {value!r}")
        return []
    return list(value)


def parse_live(table: Mapping[str, Any] | None, now: datetime, *,
               default_title: str = "", default_room_url: str = "") -> Schedule:
    """The `[live]` table as a Schedule; ConfigError listing every problem at once.

    `now` is only used to look for ids that two sources would both produce (the next
    OVERLAP_HORIZON of occurrences), never to decide what is valid.
    """
    problems = _Problems()
    table = table or {}
    if not isinstance(table, Mapping):
        raise ConfigError([f"live: must be a table ([live]), got {table!r}"])
    _unknown_keys(table, SCHEDULE_KEYS, "live", problems)
    one_off_tables = _tables(table.get("slots"), "live.slots", problems)
    recurring_tables = _tables(table.get("schedules"), "live.schedules", problems)
    has_slots = bool(one_off_tables or recurring_tables)

    zone: tzinfo = UTC
    zone_name = "UTC"
    if has_slots or "timezone" in table:
        found = _zone(table.get("timezone"), problems)
        if found is not None:
            zone, zone_name = found, found.key
    title = _text(table, "title", "live", problems, default_title) or default_title
    duration = _minutes(table, "duration_min", "live", problems, 60, 1)
    open_before = _minutes(table, "open_before_min", "live", problems, 10, 0)
    join_url = _url(table, "join_url", "live", problems)
    embed = _flag(table, "embed", "live", problems, False)
    recording_url = _url(table, "recording_url", "live", problems)
    room_url = _url(table, "room_url", "live", problems, default_room_url)

    def common(item: Mapping[str, Any], where: str) -> tuple[str, timedelta, str, bool]:
        item_url = _url(item, "join_url", where, problems, join_url)
        if not item_url:
            problems.add(f"{where}.join_url", "no join_url here or in [live]: where is the "
                         "stream? (a YouTube/Zoom/Jitsi/... URL)")
        return (_text(item, "title", where, problems, title) or title,
                _minutes(item, "duration_min", where, problems,
                         int(duration.total_seconds() // 60), 1),
                item_url,
                _flag(item, "embed", where, problems, embed))

    one_off: list[Slot] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(one_off_tables):
        where = f"live.slots[{index}]"
        _unknown_keys(item, SLOT_KEYS, where, problems)
        starts_at = _start(item.get("starts_at"), zone, where, problems)
        item_title, item_duration, item_url, item_embed = common(item, where)
        raw_id = item.get("id")
        if raw_id is None and starts_at is not None:
            raw_id = starts_at.astimezone(zone).strftime(RECURRING_ID_FORMAT)
        if not isinstance(raw_id, str) or not SLOT_ID_RE.match(raw_id):
            problems.add(f"{where}.id", "must be 1-64 letters, digits, '-' or '_' "
                         f"(starting with a letter or digit), got {raw_id!r}")
            continue
        if raw_id in seen:
            problems.add(f"{where}.id", f"duplicate id {raw_id!r} (also {seen[raw_id]})")
            continue
        seen[raw_id] = where
        if starts_at is not None:
            one_off.append(Slot(raw_id, starts_at, item_duration, item_title, item_url,
                                item_embed, zone_name, open_before))

    recurring: list[tuple[str, Recurrence]] = []
    for index, item in enumerate(recurring_tables):
        where = f"live.schedules[{index}]"
        _unknown_keys(item, RECURRENCE_KEYS, where, problems)
        at = _at(item.get("at"), where, problems)
        anchor = _from_date(item.get("from"), where, problems)
        rule = _rule(item.get("rrule"), at, anchor, zone, where, problems)
        item_title, item_duration, item_url, item_embed = common(item, where)
        if rule is not None and at is not None:
            recurring.append((where, Recurrence(rule, at, item_title, item_duration, item_url,
                                                item_embed)))

    schedule = Schedule(title=title, timezone=zone_name, zone=zone, duration=duration,
                        open_before=open_before, join_url=join_url, embed=embed,
                        recording_url=recording_url, room_url=room_url,
                        one_off=tuple(sorted(one_off, key=lambda s: (s.starts_at, s.id))),
                        recurring=tuple(rec for _where, rec in recurring))
    _overlapping_ids(schedule, recurring, seen, now, problems)
    if problems.items:
        raise ConfigError(problems.items)
    return schedule


def _overlapping_ids(schedule: Schedule, recurring: list[tuple[str, Recurrence]],
                     one_off_ids: Mapping[str, str], now: datetime,
                     problems: _Problems) -> None:
    """Two sources that would produce the same slot id: a one-off slot named like an
    occurrence of a rule, or two rules with a common occurrence (ids are local starts)."""
    start = schedule._local_naive(now) - timedelta(days=1)
    end = start + OVERLAP_HORIZON
    owner: dict[str, str] = {}
    for where, rec in recurring:
        reported: set[str] = set()  # one message per pair of sources
        for local in rec.rule.xafter(start, inc=True):
            if local > end:
                break
            slot_id = local.strftime(RECURRING_ID_FORMAT)
            other = one_off_ids.get(slot_id)
            if other is not None and other not in reported:
                reported.add(other)
                problems.add(where, f"its occurrence {slot_id} has the same id as the one-off "
                             f"slot {other}")
            other = owner.get(slot_id)
            if other is not None and other != where and other not in reported:
                reported.add(other)
                problems.add(where, f"its occurrence {slot_id} is also an occurrence of "
                             f"{other} (overlapping ids)")
            owner.setdefault(slot_id, where)
