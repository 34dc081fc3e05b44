"""The admin HTTP API and page (web/admin.py) on SQLite and MariaDB.

Counts are checked against the plain-Python recount of tests/admin_population.py; the
snapshot's own rules (freshness, single flight) are tested in test_snapshots.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from autowebinar_wp.web import admin as admin_views
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
from tests.support import Backend, Harness

FUNNEL, PROGRESS = "/api/v1/admin/funnel", "/api/v1/admin/progress"
RETENTION, REFRESH, EXPORT = "/api/v1/admin/retention", "/api/v1/admin/refresh", "/admin/export.csv"


def on_site(harness: Harness) -> Harness:
    harness.services.snapshots.background = lambda work: work()  # rebuild before answering
    return harness


@pytest.fixture
def dash(populated: Populated, make_harness: Any) -> Harness:
    return on_site(make_harness(TABLE_PREFIX=PREFIX, SITE_URL="https://site.example/"))


def get(harness: Harness, path: str, token: str | None | bool = True, **params: Any) -> Any:
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
    response = get(dash, FUNNEL)
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in expected} == expected
    assert body["rates"]["joined_per_session"] == round(
        expected["joined"] / expected["sessions"], 4)
    assert body["rates"]["cta_per_joined"] == round(expected["cta_clicks"] / expected["joined"], 4)
    assert body["computed_at"] == dash.clock().isoformat(timespec="seconds")
    assert body["stale"] is False and body["refreshing"] is False
    assert "token" not in body  # admin tokens are never refreshed
    assert response.headers["Cache-Control"] == "no-store"


def test_aggregates_come_from_the_snapshot_until_it_is_refreshed(dash: Harness,
                                                                 populated: Populated) -> None:
    sessions = get(dash, FUNNEL).get_json()["sessions"]
    populated.insert([(7000, "autowebinar_session_id", "late")])
    dash.clock.advance(60)
    body = get(dash, FUNNEL).get_json()
    assert body["sessions"] == sessions and body["stale"] is False  # a minute old: served
    response = dash.client.post(REFRESH, headers={
        "Authorization": f"Bearer {dash.token(1, 'admin')}"})
    assert response.status_code == 202 and response.get_json()["started"] is True
    body = get(dash, FUNNEL).get_json()
    assert body["sessions"] == sessions + 1
    assert body["computed_at"] == dash.clock().isoformat(timespec="seconds")
    dash.clock.advance(301)  # past ADMIN_SNAPSHOT_MAX_AGE_SEC: marked stale, rebuilt behind
    assert get(dash, FUNNEL).get_json()["stale"] is True
    assert get(dash, FUNNEL).get_json()["stale"] is False


# ---- the retention curve ----------------------------------------------------------------------


@pytest.mark.parametrize("bucket", [1, 10, 60, DURATION])
def test_retention_matches_a_python_recount(dash: Harness, populated: Populated,
                                            bucket: int) -> None:
    body = get(dash, RETENTION, bucket_sec=bucket).get_json()
    expected = expected_retention(populated.rows, bucket)
    joined = expected_funnel(populated.rows)["joined"]
    assert body["points"] == [{"t": t, "viewers": v, "percent": round(100 * v / joined, 1)}
                              for t, v in expected]
    assert (body["bucket_sec"], body["duration_sec"], body["cta_at_sec"], body["joined"]) == (
        bucket, DURATION, CTA_AT, joined)
    assert body["computed_at"] and body["stale"] is False


def test_retention_defaults_and_an_empty_curve(backend: Backend, make_harness: Any) -> None:
    create_table(backend, "awe_")
    try:
        harness = on_site(make_harness(TABLE_PREFIX="awe_", VIDEO_DURATION_SEC=45, CTA_AT_SEC=30))
        body = get(harness, RETENTION).get_json()
        assert body["bucket_sec"] == 45 and body["joined"] == 0
        assert body["points"] == [{"t": t, "viewers": 0, "percent": None} for t in (0, 30, 45)]
        funnel = get(harness, FUNNEL).get_json()
        assert funnel["sessions"] == 0 and set(funnel["rates"].values()) == {None}
        page = get(harness, PROGRESS).get_json()
        assert page["rows"] == [] and page["total"] == 0 and page["pages"] == 1
    finally:
        drop_table(backend, "awe_")


@pytest.mark.parametrize("value", ["0", "-1", "101", "abc", "1.5", "9" * 20])
def test_retention_refuses_a_bad_bucket(dash: Harness, value: str) -> None:
    response = get(dash, RETENTION, bucket_sec=value)
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "invalid_parameter",
        "message": f"bucket_sec must be a whole number from 1 to {DURATION}."}


# ---- the per-user table ----------------------------------------------------------------------


def test_every_sort_and_order_pages_through_everyone(dash: Harness, populated: Populated) -> None:
    per_page = 60
    total = len(members(populated.rows))
    pages = math.ceil(total / per_page)
    assert pages >= 3
    for sort in SORTS:
        for order in ("desc", "asc"):
            expected = expected_order(populated.rows, sort, order == "desc")
            seen: list[int] = []
            for page in range(1, pages + 1):
                body = get(dash, PROGRESS, page=page, per_page=per_page, sort=sort,
                           order=order).get_json()
                assert (body["total"], body["pages"], body["page"]) == (total, pages, page)
                assert (body["sort"], body["order"], body["per_page"]) == (sort, order, per_page)
                assert body["computed_at"] and body["stale"] is False
                seen += [row["user_id"] for row in body["rows"]]
                if page == 1:
                    for row in body["rows"]:
                        assert row == expected_row(populated.rows, row["user_id"])
            assert seen == expected, (sort, order)
    body = get(dash, PROGRESS, page=pages + 1, per_page=per_page).get_json()
    assert body["rows"] == [] and body["total"] == total  # past the end: empty, not an error


def test_default_page_is_last_seen_descending(dash: Harness, populated: Populated) -> None:
    body = get(dash, PROGRESS).get_json()
    assert (body["sort"], body["order"], body["per_page"], body["page"]) == (
        "last_seen", "desc", 50, 1)
    assert [r["user_id"] for r in body["rows"]] == expected_order(
        populated.rows, "last_seen", True)[:50]


BAD_QUERIES = [
    {"page": "0"}, {"page": "-1"}, {"page": "abc"}, {"page": "1.5"}, {"page": "99999999999"},
    {"page": "１"}, {"page": "1e3"}, {"per_page": "0"}, {"per_page": "201"},
    {"per_page": "100000"}, {"per_page": "many"}, {"sort": "meta_value"},
    {"sort": "LAST_SEEN"}, {"sort": "user_id;drop"}, {"order": "up"}, {"order": "DESC"},
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_parameters_are_400_json(dash: Harness, query: dict[str, str]) -> None:
    response = get(dash, PROGRESS, **query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and next(iter(query)) in error["message"]


def test_limits_and_defaults(dash: Harness) -> None:
    assert len(get(dash, PROGRESS, per_page=200).get_json()["rows"]) == 200
    assert len(get(dash, PROGRESS, per_page=1).get_json()["rows"]) == 1
    empty = {"page": "", "per_page": "", "sort": "", "order": "", "unknown": "x"}
    assert get(dash, PROGRESS, **empty).get_json()["per_page"] == 50


# ---- who may see it --------------------------------------------------------------------------

ENDPOINTS = [("GET", FUNNEL), ("GET", PROGRESS), ("GET", RETENTION), ("POST", REFRESH),
             ("GET", EXPORT)]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_admin_endpoints_take_a_bearer_admin_token_only(dash: Harness, method: str,
                                                        path: str) -> None:
    viewer = dash.token(5, "viewer")
    admin = dash.token(1, "admin")
    expired = dash.token(1, "admin", ttl=60)
    dash.clock.advance(120)

    def call(**kwargs: Any) -> Any:
        return dash.client.open(path, method=method, **kwargs)

    response = call(headers={"Authorization": f"Bearer {viewer}"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    for token in (None, "not-a-token", admin[:-2] + "xx"):
        response = call(headers={"Authorization": f"Bearer {token}"} if token else {})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    response = call(headers={"Authorization": f"Bearer {expired}"})
    assert response.get_json()["error"]["code"] == "token_expired"
    # a token in the query string is not looked at (it would land in access logs)
    response = call(query_string={"token": dash.token(1, "admin")})
    assert response.status_code == 401
    fresh = dash.token(1, "admin")
    assert call(headers={"Authorization": f"Bearer {fresh}"}).status_code in (200, 202)


def test_admin_tokens_are_never_refreshed_and_live_at_most_the_admin_ttl(dash: Harness) -> None:
    token = dash.token(1, "admin", ttl=600)
    dash.clock.advance(550)
    for path in (FUNNEL, PROGRESS, RETENTION):
        assert "token" not in get(dash, path, token=token).get_json()
    dash.clock.advance(100)  # expired: reloading the wp-admin page mints a new one
    assert get(dash, PROGRESS, token=token).get_json()["error"]["code"] == "token_expired"
    too_long = dash.token(1, "admin", ttl=2 * 3600)  # ADMIN_TOKEN_TTL_SEC is 1 h
    assert get(dash, FUNNEL, token=too_long).status_code == 401


# ---- the CSV export --------------------------------------------------------------------------


def test_csv_export_streams_every_member(dash: Harness, populated: Populated,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_views, "EXPORT_BATCH_USERS", 4)
    statements: list[str] = []
    engine = dash.services.engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = dash.client.get(EXPORT, headers={
            "Authorization": f"Bearer {dash.token(1, 'admin')}"}, buffered=False)
        assert response.status_code == 200 and response.is_streamed
        before_body = len([s for s in statements if "meta_value" in s])
        body = response.get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert before_body == 1  # only the first batch ran before the download started
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="autowebinar-progress-\d{8}-\d{6}\.csv"',
                        response.headers["Content-Disposition"])
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == admin_views.CSV_HEADER
    ids = [m.user_id for m in members(populated.rows)]
    assert [int(r[0]) for r in table[1:]] == ids
    # a short query per few users (4 here; a thousand by default), not one for everything
    assert len([s for s in statements if "meta_value" in s]) >= len(ids) // 4
    by_id = {int(r[0]): dict(zip(admin_views.CSV_HEADER, r, strict=True)) for r in table[1:]}
    for uid in ids:
        want, got = expected_row(populated.rows, uid), by_id[uid]
        assert got["progress_percent"] == str(want["progress_percent"])
        assert got["position_sec"] == str(want["position_sec"])
        assert got["completed"] == str(int(want["completed"]))
        assert got["joined"] == str(int(want["joined"]))
        started = want["started_at"]
        assert got["started_at_utc"] == (started[:19].replace("T", " ") if started else "")
    formula = [r for r in table[1:] if "HYPERLINK" in r[1]]
    assert formula[0][1] == "'=HYPERLINK(\"x\")"


# ---- the page --------------------------------------------------------------------------------


def page_config(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="aw-admin-config">(.*?)</script>',
                      html, re.DOTALL)
    assert found, html[:2000]
    return json.loads(found.group(1))


def test_the_page_needs_no_token_and_holds_none(dash: Harness) -> None:
    response = dash.client.get("/admin")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for marker in ('id="aw-funnel-chart"', 'id="aw-retention-chart"', 'id="aw-users-table"',
                   'data-sort="last_seen"', 'id="aw-export"', 'id="aw-refresh"', 'id="aw-as-of"',
                   'src="/static/admin.js"', "/static/admin.css"):
        assert marker in html, marker
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 2
    for attrs, content in scripts:  # CSP allows no inline script: only src= and JSON data
        assert 'src="' in attrs or ('type="application/json"' in attrs and content.strip())
    assert "<style" not in html and " style=" not in html
    data = page_config(html)
    assert "token" not in data and "eyJ" not in html
    assert data["userEditUrl"] == "https://site.example/wp-admin/user-edit.php?user_id="
    assert data["api"] == {"funnel": FUNNEL, "retention": RETENTION, "progress": PROGRESS,
                           "refresh": REFRESH, "export": EXPORT}
    assert data["bucketSec"] == 60
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    # an old-style link with ?token= opens the same page; the token is not used or echoed
    old = dash.client.get("/admin", query_string={"token": dash.token(1, "admin")})
    assert old.status_code == 200 and "eyJ" not in old.get_data(as_text=True)


def test_the_page_in_russian_and_without_a_site_url(populated: Populated,
                                                    make_harness: Any) -> None:
    harness = make_harness(TABLE_PREFIX=PREFIX, LOCALE="ru", SITE_URL="")
    html = harness.client.get("/admin").get_data(as_text=True)
    assert 'lang="ru"' in html and "Воронка" in html and "Скачать CSV" in html
    assert "Удержание аудитории" in html
    data = page_config(html)
    assert data["userEditUrl"] == "" and data["locale"] == "ru"
    assert data["i18n"]["reached"] == "Дошли до {percent}%"
    assert data["i18n"]["asOf"] == "Данные на {time}"
    assert "устарела" in data["i18n"]["expired"]


def test_a_section_can_be_added(dash: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_views, "SECTIONS", [])
    admin_views.add_section(admin_views.Section("admin_test_section.html", "admin.css"))
    admin_views.add_section(admin_views.Section("admin_test_section.html", "admin.css"))
    loader = dash.app.jinja_loader
    monkeypatch.setattr(loader, "searchpath",
                        [*loader.searchpath, str(Path(__file__).parent / "templates")])
    html = dash.client.get("/admin").get_data(as_text=True)
    assert html.count('id="aw-test-section"') == 1
    assert html.count('src="/static/admin.css"') == 1
