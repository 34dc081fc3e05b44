"""Fuzzing the API from its OpenAPI document with schemathesis: every operation, with a
valid viewer token, a valid admin token and no token, against a real `serve` on MariaDB.

0 responses >= 500, and every error from the app is the contract's JSON body. After the
module, the fuzz_target fixture checks that no row outside our namespaces changed and that
every namespace row is well formed (one row per key, every value reads back exactly).
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.reliability import figures

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

EXAMPLES = 20  # per operation, token kind and mode: ~2,000 requests in all
SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> object:
    yield
    figures.record("fuzz_schema", requests=sum(SEEN.values()),
                   statuses=dict(sorted(SEEN.items())),
                   server_errors=sum(v for k, v in SEEN.items() if k.startswith("5")))


def call(case, auth: str, target) -> None:  # type: ignore[no-untyped-def]
    """Send the generated request with the given token kind; no 5xx, JSON errors."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if auth != "none":
        token = target.viewer_token if auth == "viewer" else target.admin_token
        headers["Authorization"] = f"Bearer {token}"
    case.headers = headers
    response = case.call(base_url=target.base, timeout=10)
    SEEN[str(response.status_code)] += 1
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} ({auth}): {response.status_code} "
        f"{response.text[:300]}")
    # an error of the app (not of the HTTP layer, which lacks our headers) is JSON
    if (response.status_code >= 400 and response.headers.get("X-Content-Type-Options")
            and case.path.startswith("/api/")):
        body = response.json()
        assert set(body["error"]) >= {"code", "message"}, body


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("auth", ["viewer", "admin", "none"])
def test_no_response_is_a_server_error(fuzz_target, auth: str, mode: GenerationMode) -> None:
    """Valid (positive) and invalid (negative) requests for every operation."""
    api = schemathesis.openapi.from_url(f"{fuzz_target.base}/api/v1/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def run(case) -> None:  # type: ignore[no-untyped-def]
            call(case, auth, fuzz_target)

        try:
            run()
        except Unsatisfiable:
            continue  # no invalid request exists for this operation (nothing to vary)
