"""The OpenAPI document is valid and describes every JSON route the app serves."""

import re

from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_complete(harness) -> None:
    response = harness.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in harness.app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule != "/api/v1/openapi.json"
        or rule.rule in ("/healthz", "/admin/export.csv", "/admin/live/registrations.csv",
                         "/live/slot/<slot_id>.ics", "/l/o/<token>", "/l/c/<token>")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served <= documented, f"undocumented routes: {served - documented}"
    assert {p for p, _ in documented} - {r for r, _ in served} == set()
