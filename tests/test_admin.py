"""The admin dashboard, its JSON API, the CSV export and `stats`, on SQLite and MariaDB.

Counts must be exact, so these tests use their own table (`awt_usermeta`, WordPress's DDL)
instead of the session-wide `wp_usermeta` other tests add users to. The population has
every funnel stage, WordPress duplicates (equal and unequal copies) and garbage values; the
expected numbers are recounted in plain Python from the same rows, decoding each copy with
`codec` and combining copies by the documented rule (admin.py: highest copy, earliest start).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text

from autowebinar_wp import admin
from autowebinar_wp.cli import main
from autowebinar_wp.codec import DATETIME_FORMAT, decode_state
from autowebinar_wp.services import services
from autowebinar_wp.session import has_joined
from autowebinar_wp.state import META_KEYS, State
from tests.support import SECRET, Backend, Harness, clear_config_env
from tests.wordpress_fixtures import WP_USERMETA_DDL, wordpress_meta

K = META_KEYS
PREFIX = "awt_"
TABLE = f"{PREFIX}usermeta"
FUNNEL, PROGRESS, EXPORT = "/api/v1/admin/funnel", "/api/v1/admin/progress", "/admin/export.csv"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
DURATION = 100

Row = tuple[int, str, str | None]


# ---- the population --------------------------------------------------------------------------


def _dt(moment: datetime) -> str:
    return moment.strftime(DATETIME_FORMAT)


def _session(uid: int, rng: random.Random, kind: str) -> dict[str, str]:
    """One user's autowebinar_* values for a funnel stage."""
    started = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
    values = {K["session_id"]: f"{uid:08d}-0000-4000-8000-{rng.getrandbits(48):012x}",
              K["started_at"]: _dt(started), K["last_position_sec"]: "0",
              K["progress_percent"]: "0", K["completed"]: "0"}
    if kind == "created":  # Core made the session; the user never opened the player
        return values
    if kind == "waiting":  # only the waiting room: seen before the start
        values[K["last_seen_at"]] = _dt(started - timedelta(seconds=rng.randrange(1, 300)))
        return values
    progress = int(kind[1:].removesuffix("cta"))
    position = {0: rng.randrange(0, 25), 25: rng.randrange(25, 50), 50: rng.randrange(50, 75),
                75: rng.randrange(75, 99), 100: DURATION}[progress]
    values[K["last_position_sec"]] = str(position)
    values[K["progress_percent"]] = str(progress)
    values[K["completed"]] = "1" if progress == 100 else "0"
    values[K["last_seen_at"]] = _dt(started + timedelta(seconds=position + rng.randrange(0, 9000)))
    if kind.endswith("cta"):
        values[K["cta_clicked_at"]] = _dt(started + timedelta(seconds=60))
    return values


KINDS = ["none", "created", "waiting", "p0", "p25", "p50", "p75", "p75cta", "p100", "p100cta"]


def population(count: int = 240, seed: int = 7) -> list[Row]:
    """Rows in insertion (umeta_id) order: WordPress's own meta, then ours, per user."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for uid in range(1, count + 1):
        rows += wordpress_meta(uid, PREFIX)
        kind = KINDS[uid % len(KINDS)] if uid <= 3 * len(KINDS) else rng.choice(KINDS)
        if kind == "none":
            continue
        values = _session(uid, rng, kind)
        rows += [(uid, key, value) for key, value in values.items()]
    return rows + oddities(count + 1)


def oddities(first: int) -> list[Row]:
    """Duplicates and garbage, each on its own user (ids from `first`)."""
    odd: list[list[tuple[str, str | None]]] = [
        # WordPress duplicates with equal copies: counted once
        [("session_id", "a"), ("session_id", "a"), ("started_at", "2026-03-02 10:00:00"),
         ("last_seen_at", "2026-03-02 10:05:00"), ("last_seen_at", "2026-03-02 10:05:00"),
         ("progress_percent", "50"), ("last_position_sec", "55"), ("completed", "0")],
        # unequal copies: the funnel and the sort take the highest (75), the row shows the
        # oldest (25), as get_user_meta($id, $key, true) does
        [("session_id", "b"), ("started_at", "2026-03-03 10:00:00"),
         ("last_seen_at", "2026-03-03 10:09:00"), ("progress_percent", "25"),
         ("progress_percent", "75"), ("last_position_sec", "80"), ("completed", "0")],
        # garbage progress and completed: counted as 0 / not completed, no crash
        [("session_id", "c"), ("started_at", "2026-03-04 10:00:00"),
         ("last_seen_at", "2026-03-04 10:01:00"), ("progress_percent", "abc"),
         ("last_position_sec", "xyz"), ("completed", "yes")],
        # a garbage last_seen: not joined
        [("session_id", "d"), ("started_at", "2026-03-05 10:00:00"),
         ("last_seen_at", "garbage"), ("progress_percent", "0"), ("completed", "0")],
        # an empty or blank session id is no session: excluded everywhere
        [("session_id", ""), ("started_at", "2026-03-06 10:00:00"),
         ("last_seen_at", "2026-03-06 10:02:00"), ("progress_percent", "100"),
         ("completed", "1")],
        [("session_id", "   "), ("progress_percent", "50")],
        # keys without any session id row: excluded
        [("last_seen_at", "2026-03-07 10:00:00"), ("progress_percent", "75")],
        # an unreadable start with a valid last_seen: joined (has_joined with no start)
        [("session_id", "e"), ("started_at", "soon"), ("last_seen_at", "2026-03-08 10:00:00"),
         ("progress_percent", "25"), ("last_position_sec", "30"), ("completed", "0"),
         ("cta_clicked_at", "")],
        # hand-edited numbers WordPress-style: '30' is past 25, '100.0' is 100
        [("session_id", "f"), ("started_at", "2026-03-09 10:00:00"),
         ("last_seen_at", "2026-03-09 10:03:00"), ("progress_percent", "30"),
         ("last_position_sec", " 31 "), ("completed", "0")],
        [("session_id", "g"), ("started_at", "2026-03-10 10:00:00"),
         ("last_seen_at", "2026-03-10 11:00:00"), ("progress_percent", "100.0"),
         ("last_position_sec", "100"), ("completed", "true"),
         ("cta_clicked_at", "2026-03-10 10:59:00")],
        # a session without progress/position rows (hand-deleted): NULL in those sorts
        [("session_id", "h"), ("started_at", "2026-03-11 10:00:00")],
        # a session id that would be a spreadsheet formula in the CSV
        [("session_id", "=HYPERLINK(\"x\")"), ("started_at", "2026-03-12 10:00:00"),
         ("last_seen_at", "2026-03-12 10:00:30"), ("progress_percent", "0"),
         ("completed", "0")],
    ]
    rows: list[Row] = []
    for offset, entries in enumerate(odd):
        uid = first + offset
        rows += wordpress_meta(uid, PREFIX)[:3]
        rows += [(uid, "autowebinar_" + key, value) for key, value in entries]
    return rows


# ---- the reference: plain Python over the same rows ------------------------------------------


def copies(rows: list[Row]) -> dict[int, dict[str, list[str | None]]]:
    users: dict[int, dict[str, list[str | None]]] = {}
    for uid, key, value in rows:
        if key in K.values():
            users.setdefault(uid, {}).setdefault(key, []).append(value)
    return users


def decoded(key: str, value: str | None) -> State:
    return decode_state({key: value})


def has_session(keys: dict[str, list[str | None]]) -> bool:
    return any(decoded(K["session_id"], v).has_session for v in keys.get(K["session_id"], []))


def best(keys: dict[str, list[str | None]], field: str, pick: Any = max) -> Any:
    values = [getattr(decoded(K[field], v), field) for v in keys.get(K[field], [])]
    values = [v for v in values if v is not None]
    return pick(values) if values else None


def expected_funnel(rows: list[Row]) -> dict[str, int]:
    counts = dict.fromkeys(["sessions", "joined", "reached_25", "reached_50", "reached_75",
                            "reached_100", "completed", "cta_clicks"], 0)
    for keys in copies(rows).values():
        if not has_session(keys):
            continue
        state = State(session_id="x", started_at=best(keys, "started_at", min),
                      last_seen_at=best(keys, "last_seen_at"))
        progress = best(keys, "progress_percent") or 0
        counts["sessions"] += 1
        counts["joined"] += has_joined(state)
        for milestone in (25, 50, 75, 100):
            counts[f"reached_{milestone}"] += progress >= milestone
        counts["completed"] += bool(best(keys, "completed"))
        counts["cta_clicks"] += best(keys, "cta_clicked_at") is not None
    return counts


def sort_value(keys: dict[str, list[str | None]], sort: str) -> Any:
    key = admin.SORTS[sort]
    if key is None:
        return None
    if sort in admin.DATETIME_SORTS:
        return best(keys, "last_seen_at" if sort == "last_seen" else "started_at")
    numbers = []
    for raw in keys.get(key, []):
        try:  # what `meta_value + 0` gives for these rows (no leading-digit garbage here)
            numbers.append(float((raw or "").strip()))
        except ValueError:
            numbers.append(0.0)
    return max(numbers) if numbers else None


def expected_order(rows: list[Row], sort: str, descending: bool) -> list[int]:
    users = {uid: keys for uid, keys in copies(rows).items() if has_session(keys)}

    def key(uid: int) -> tuple[Any, ...]:
        value = sort_value(users[uid], sort)
        return (value is not None, value if value is not None else 0, uid)

    ascending = sorted(users, key=key)  # NULL first ascending, last descending (SQL order)
    return ascending[::-1] if descending else ascending


def expected_row(users: dict[int, dict[str, list[str | None]]], uid: int) -> dict[str, Any]:
    """What WordPress's get_user_meta($id, $key, true) shows: the oldest copy, decoded."""
    oldest = {key: values[0] for key, values in users[uid].items()}
    state = decode_state(oldest, uid)

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {"user_id": uid, "session_id": state.session_id, "started_at": iso(state.started_at),
            "last_seen_at": iso(state.last_seen_at), "joined": has_joined(state),
            "position_sec": state.last_position_sec,
            "progress_percent": state.progress_percent, "completed": state.completed,
            "cta_clicked_at": iso(state.cta_clicked_at)}


# ---- fixtures --------------------------------------------------------------------------------


def create_table(backend: Backend, prefix: str) -> None:
    """WordPress's usermeta under another prefix (SQLite: index names are per database)."""
    with backend.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {prefix}usermeta"))
        if backend.name == "mysql":
            conn.execute(text(WP_USERMETA_DDL.format(prefix=prefix)))
            return
        conn.execute(text(f"CREATE TABLE {prefix}usermeta (umeta_id INTEGER PRIMARY KEY "
                          "AUTOINCREMENT, user_id BIGINT NOT NULL DEFAULT 0, "
                          "meta_key VARCHAR(255), meta_value TEXT)"))
        conn.execute(text(f"CREATE INDEX {prefix}user_id ON {prefix}usermeta (user_id)"))
        conn.execute(text(f"CREATE INDEX {prefix}meta_key ON {prefix}usermeta (meta_key)"))


def drop_table(backend: Backend, prefix: str) -> None:
    with backend.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {prefix}usermeta"))


class Populated:
    def __init__(self, backend: Backend, rows: list[Row]) -> None:
        self.backend = backend
        self.rows = rows

    def insert(self, rows: list[Row]) -> None:
        with self.backend.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {TABLE} (user_id, meta_key, meta_value) VALUES (:u, :k, :v)"),
                [{"u": u, "k": k, "v": v} for u, k, v in rows],
            )
        self.rows = self.rows + rows


@pytest.fixture
def populated(backend: Backend) -> Iterator[Populated]:
    """`awt_usermeta` with WordPress's schema, filled with the population."""
    create_table(backend, PREFIX)
    data = Populated(backend, [])
    data.insert(population())
    yield data
    drop_table(backend, PREFIX)


@pytest.fixture
def dash(populated: Populated, make_harness: Any) -> Harness:
    return make_harness(TABLE_PREFIX=PREFIX, SITE_URL="https://site.example/")


def admin_get(harness: Harness, path: str, token: str | None | bool = True,
              **params: Any) -> Any:
    """GET with a bearer token: a fresh admin token by default, none for `None`."""
    headers = {}
    if token is True:
        token = harness.token(1, "admin")
    if isinstance(token, str):
        headers["Authorization"] = f"Bearer {token}"
    return harness.client.get(path, headers=headers, query_string=params)


# ---- the funnel ------------------------------------------------------------------------------


def test_funnel_matches_a_python_recount(dash: Harness, populated: Populated) -> None:
    expected = expected_funnel(populated.rows)
    # the population covers every stage, so a wrong condition cannot hide behind a zero
    assert all(expected.values()) and len(set(expected.values())) > 5, expected
    response = admin_get(dash, FUNNEL)
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in expected} == expected
    assert body["rates"]["joined_per_session"] == round(
        expected["joined"] / expected["sessions"], 4)
    assert body["rates"]["cta_per_joined"] == round(expected["cta_clicks"] / expected["joined"], 4)
    assert body["rates"]["completed_per_joined"] == round(
        expected["completed"] / expected["joined"], 4)
    assert body["rates"]["cta_per_session"] == round(
        expected["cta_clicks"] / expected["sessions"], 4)
    assert body["generated_at"] == dash.clock().isoformat(timespec="seconds")
    assert response.headers["Cache-Control"] == "no-store"


def test_funnel_of_an_empty_table(backend: Backend, make_harness: Any) -> None:
    create_table(backend, "awe_")
    harness = make_harness(TABLE_PREFIX="awe_")
    try:
        body = admin_get(harness, FUNNEL).get_json()
        assert body["sessions"] == body["joined"] == body["cta_clicks"] == 0
        assert set(body["rates"].values()) == {None}
        page = admin_get(harness, PROGRESS).get_json()
        assert page["rows"] == [] and page["total"] == 0 and page["pages"] == 1
    finally:
        drop_table(backend, "awe_")


# ---- the per-user table ----------------------------------------------------------------------


def test_every_sort_and_order_pages_through_everyone(dash: Harness, populated: Populated) -> None:
    per_page = 60
    users = copies(populated.rows)
    total = expected_funnel(populated.rows)["sessions"]
    pages = math.ceil(total / per_page)
    assert pages >= 3
    for sort in admin.SORTS:
        for order in ("desc", "asc"):
            expected = expected_order(populated.rows, sort, order == "desc")
            seen: list[int] = []
            for page in range(1, pages + 1):
                body = admin_get(dash, PROGRESS, page=page, per_page=per_page, sort=sort,
                                 order=order).get_json()
                assert (body["total"], body["pages"], body["page"]) == (total, pages, page)
                assert (body["sort"], body["order"], body["per_page"]) == (sort, order, per_page)
                seen += [row["user_id"] for row in body["rows"]]
                if page == 1:
                    for row in body["rows"]:
                        assert row == expected_row(users, row["user_id"])
            assert seen == expected, (sort, order)
    # one past the end is an empty page, not an error
    body = admin_get(dash, PROGRESS, page=pages + 1, per_page=per_page).get_json()
    assert body["rows"] == [] and body["total"] == total


def test_default_page_is_last_seen_descending(dash: Harness, populated: Populated) -> None:
    body = admin_get(dash, PROGRESS).get_json()
    assert (body["sort"], body["order"], body["per_page"], body["page"]) == (
        "last_seen", "desc", 50, 1)
    assert [r["user_id"] for r in body["rows"]] == expected_order(
        populated.rows, "last_seen", True)[:50]


def test_rows_show_what_wordpress_shows(dash: Harness, populated: Populated) -> None:
    odd = {r["session_id"]: r for r in admin_get(
        dash, PROGRESS, per_page=200, sort="user_id", order="desc").get_json()["rows"]}
    assert odd["a"]["progress_percent"] == 50 and odd["a"]["joined"] is True
    assert odd["b"]["progress_percent"] == 25  # the oldest copy, as get_user_meta reads it
    assert odd["c"]["progress_percent"] == 0 and odd["c"]["position_sec"] == 0
    assert odd["c"]["completed"] is False
    assert odd["d"]["last_seen_at"] is None and odd["d"]["joined"] is False
    assert odd["e"]["started_at"] is None and odd["e"]["joined"] is True
    assert odd["e"]["cta_clicked_at"] is None
    assert (odd["f"]["progress_percent"], odd["f"]["position_sec"]) == (25, 31)
    assert odd["g"]["completed"] is True
    assert odd["g"]["cta_clicked_at"] == "2026-03-10T10:59:00+00:00"
    assert "" not in odd and "   " not in odd


BAD_QUERIES = [
    {"page": "0"}, {"page": "-1"}, {"page": "abc"}, {"page": "1.5"}, {"page": "99999999999"},
    {"page": "１"}, {"page": "1e3"}, {"per_page": "0"}, {"per_page": "201"},
    {"per_page": "many"}, {"sort": "meta_value"}, {"sort": "LAST_SEEN"}, {"order": "up"},
    {"order": "DESC"},
]


def test_bad_parameters_are_400_json_and_limits_hold(dash: Harness) -> None:
    for query in BAD_QUERIES:
        response = admin_get(dash, PROGRESS, **query)
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "invalid_parameter", query
        assert next(iter(query)) in error["message"], query
    assert len(admin_get(dash, PROGRESS, per_page=200).get_json()["rows"]) == 200
    assert len(admin_get(dash, PROGRESS, per_page=1).get_json()["rows"]) == 1
    empty = {"page": "", "per_page": "", "sort": "", "order": "", "unknown": "x"}
    assert admin_get(dash, PROGRESS, **empty).get_json()["per_page"] == 50  # defaults


# ---- who may see it --------------------------------------------------------------------------


def test_viewer_tokens_are_403_and_bad_tokens_401(dash: Harness) -> None:
    viewer = dash.token(5, "viewer")
    expired = dash.token(1, "admin", ttl=60)
    dash.clock.advance(120)
    for path in (FUNNEL, PROGRESS):
        response = admin_get(dash, path, token=viewer)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
        for token in (None, "not-a-token", viewer[:-2] + "xx"):
            response = admin_get(dash, path, token=token)
            assert response.status_code == 401
            assert response.get_json()["error"]["code"] == "unauthorized"
        response = admin_get(dash, path, token=expired)
        assert response.get_json()["error"]["code"] == "token_expired"
    # the CSV link and the page take the token from the query string, never a header
    assert dash.client.get(EXPORT, query_string={"token": viewer}).status_code == 403
    assert dash.client.get(EXPORT).status_code == 401
    headers = {"Authorization": f"Bearer {dash.token(1, 'admin')}"}
    assert dash.client.get(EXPORT, headers=headers).status_code == 401


def test_admin_tokens_are_never_refreshed_and_live_at_most_the_admin_ttl(dash: Harness) -> None:
    token = dash.token(1, "admin", ttl=600)
    dash.clock.advance(400)
    assert "token" not in admin_get(dash, FUNNEL, token=token).get_json()
    dash.clock.advance(400)  # expired: reloading the wp-admin page mints a new one
    assert admin_get(dash, PROGRESS, token=token).get_json()["error"]["code"] == "token_expired"
    too_long = dash.token(1, "admin", ttl=2 * 3600)  # ADMIN_TOKEN_TTL_SEC is 1 h
    assert admin_get(dash, FUNNEL, token=too_long).status_code == 401


# ---- the CSV export --------------------------------------------------------------------------


def test_csv_export_streams_every_user_in_batches(dash: Harness, populated: Populated,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin, "EXPORT_BATCH", 25)
    statements: list[str] = []
    engine = services(dash.app).engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = dash.client.get(EXPORT, query_string={"token": dash.token(1, "admin")},
                                   buffered=False)
        assert response.status_code == 200 and response.is_streamed
        before_body = len([s for s in statements if "meta_value" in s])
        body = response.get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert before_body == 2  # only the first batch (ids + rows) ran before streaming
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="autowebinar-progress-\d{8}-\d{6}\.csv"',
                        response.headers["Content-Disposition"])
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == admin.CSV_HEADER
    ids = sorted(expected_order(populated.rows, "user_id", False))
    assert [int(r[0]) for r in table[1:]] == ids
    # two statements per batch; a final empty batch (when the count divides) needs one
    expected_statements = 2 * math.ceil(len(ids) / 25) + (len(ids) % 25 == 0)
    assert len([s for s in statements if "meta_value" in s]) == expected_statements
    by_id = {int(r[0]): dict(zip(admin.CSV_HEADER, r, strict=True)) for r in table[1:]}
    users = copies(populated.rows)
    for uid in ids:
        want = expected_row(users, uid)
        got = by_id[uid]
        assert got["progress_percent"] == str(want["progress_percent"])
        assert got["position_sec"] == str(want["position_sec"])
        assert got["completed"] == str(int(want["completed"]))
        assert got["joined"] == str(int(want["joined"]))
        if want["started_at"]:
            assert got["started_at_utc"] == want["started_at"][:19].replace("T", " ")
        else:
            assert got["started_at_utc"] == ""
    formula = [r for r in table[1:] if "HYPERLINK" in r[1]]
    assert formula[0][1] == "'=HYPERLINK(\"x\")"


# ---- the page --------------------------------------------------------------------------------


def page_config(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="aw-admin-config">(.*?)</script>',
                      html, re.DOTALL)
    assert found, html[:2000]
    return json.loads(found.group(1))


def test_dashboard_page(dash: Harness) -> None:
    token = dash.token(1, "admin")
    response = dash.client.get("/admin", query_string={"token": token})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for marker in ('id="aw-funnel-chart"', 'id="aw-users-table"', 'data-sort="last_seen"',
                   'id="aw-export"', 'src="/static/admin.js"', "/static/admin.css"):
        assert marker in html
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 2
    for attrs, content in scripts:  # CSP allows no inline script: only src= and JSON data
        assert 'src="' in attrs or ('type="application/json"' in attrs and content.strip())
    assert "<style" not in html and " style=" not in html
    data = page_config(html)
    assert data["token"] == token
    assert data["userEditUrl"] == "https://site.example/wp-admin/user-edit.php?user_id="
    assert data["api"] == {"funnel": FUNNEL, "progress": PROGRESS, "export": EXPORT}
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_dashboard_in_russian_and_without_a_site_url(populated: Populated,
                                                    make_harness: Any) -> None:
    harness = make_harness(TABLE_PREFIX=PREFIX, LOCALE="ru", SITE_URL="")
    html = harness.client.get(
        "/admin", query_string={"token": harness.token(1, "admin")}).get_data(as_text=True)
    assert 'lang="ru"' in html and "Воронка" in html and "Скачать CSV" in html
    data = page_config(html)
    assert data["userEditUrl"] == "" and data["locale"] == "ru"
    assert data["i18n"]["reached"] == "Дошли до {percent}%"
    assert data["i18n"]["pageOf"] == "Страница {page} из {pages}"


def test_dashboard_refuses_bad_tokens_with_an_html_page(dash: Harness) -> None:
    cases = [("nope", 401, "is not valid"), (None, 401, "is not valid"),
             (dash.token(1, "admin", ttl=30), 401, "has expired"),
             (dash.token(3, "viewer"), 403, "only site administrators")]
    dash.clock.advance(60)
    for token, status, text_ in cases:
        query = {"token": token} if token else {}
        response = dash.client.get("/admin", query_string=query)
        assert response.status_code == status and response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert text_ in html and "aw-admin-config" not in html and "<script" not in html


# ---- `autowebinar-wp stats` ------------------------------------------------------------------


def run_stats(monkeypatch: pytest.MonkeyPatch, backend: Backend | None, *args: str,
              **env: str) -> Any:

    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    monkeypatch.setenv("AUTOWEBINAR_TABLE_PREFIX", PREFIX)
    monkeypatch.setenv("AUTOWEBINAR_LOG_LEVEL", "CRITICAL")
    if backend is None:
        pass
    elif backend.name == "mysql":
        monkeypatch.setenv("AUTOWEBINAR_DATABASE_URL", backend.url)
    else:
        assert backend.instance_path
        monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", backend.instance_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["stats", *args])


def test_stats_prints_the_funnel(populated: Populated, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = expected_funnel(populated.rows)
    result = run_stats(monkeypatch, populated.backend)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"AutoWebinar funnel ({TABLE}, ")
    for label, key in (("Sessions", "sessions"), ("Joined", "joined"),
                       ("Reached 50%", "reached_50"), ("CTA clicks", "cta_clicks")):
        row = next(line for line in lines if line.strip().startswith(label + " "))
        assert f"{expected[key]:,}" in row.split()
    assert re.search(r"joined / sessions\s+\d+\.\d%", result.output)

    result = run_stats(monkeypatch, populated.backend, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {k: data[k] for k in expected} == expected
    assert data["table"] == TABLE and "joined_per_session" in data["rates"]


def test_stats_fails_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    instance = str(tmp_path / "instance")
    result = run_stats(monkeypatch, None, AUTOWEBINAR_INSTANCE_PATH=instance,
                       AUTOWEBINAR_DATABASE_URL="mysql+pymysql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "database error" in result.output and "Traceback" not in result.output
    result = run_stats(monkeypatch, None, AUTOWEBINAR_INSTANCE_PATH=instance,
                       AUTOWEBINAR_EMBED_SECRET="short")
    assert result.exit_code == 2
    assert "EMBED_SECRET" in result.output and "Traceback" not in result.output
