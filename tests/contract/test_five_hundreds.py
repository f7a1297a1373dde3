"""Issue 12: every HTTP 500 found by fuzzing, reproduced as a plain request (PRODUCT.md §9: never a 500).

Each case names the request that used to crash and what it answers now (a 4xx in the envelope, or
the normal answer when the input is valid after all).
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from tests.contract.helpers import assert_envelope, plan_with
from tests.runtime.helpers import RUNS, SIMULATE, TS, transform
from tests.traces.tracebuild import build, store
from traces.models import Trace

pytestmark = pytest.mark.django_db

# --- 1, 6: dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/traces", "/api/v1/mismatches"])
@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize("offset", ["%2B20:55", "-23:59", "%2B15:59"])
def test_it_accepts_every_rfc3339_offset_in_date_filters(api_a, tenant_a, path, name, offset):
    store(tenant_a, steps=1)
    response = api_a.get(f"{path}?{name}=2000-01-01T00:00:00{offset}")
    assert response.status_code == 200, response.content
    expected = 1 if (name == "created_after" and path == "/api/v1/traces") else 0
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00", "2025-02-30T00:00:00Z", "2025-01-01T25:00:00Z"],
)
def test_it_refuses_impossible_or_unrepresentable_filter_dates(api_a, value):
    body = assert_envelope(api_a.get(f"/api/v1/traces?created_after={value}"), 400, "validation_error")
    assert "created_after" in body["fields"]


@pytest.mark.parametrize("endpoint", [SIMULATE, RUNS])
@pytest.mark.parametrize("timestamp", ["2025-02-30T00:00:00Z", "2025-01-01T25:00:00", "2025-01-01T00:00:00+24:00"])
def test_it_refuses_an_impossible_timestamp(api_a_dev, endpoint, timestamp):
    response = api_a_dev.post(endpoint, {"plan": plan_with(1), "timestamp": timestamp}, format="json")
    assert "timestamp" in assert_envelope(response, 400, "validation_error")["fields"]


# --- 4: integers beyond the database column ------------------------------------------------------


@pytest.mark.parametrize("endpoint", [SIMULATE, RUNS])
def test_it_refuses_a_budget_beyond_the_database_column(api_a_dev, endpoint):
    response = api_a_dev.post(endpoint, {"plan": plan_with(1), "budget_cents": 2**31}, format="json")
    assert "budget_cents" in assert_envelope(response, 400, "validation_error")["fields"]


def test_it_refuses_a_step_index_beyond_the_database_column(api_a, tenant_a):
    trace = store(tenant_a, steps=1)
    response = api_a.post(
        f"/api/v1/traces/{trace.trace_id}/mismatch", {"step_index": 2**31, "reason": "output_mismatch"}, format="json"
    )
    assert "step_index" in assert_envelope(response, 400, "validation_error")["fields"]


def test_it_refuses_an_ingested_retry_count_beyond_the_database_column(api_a):
    payload = build(steps=1).to_dict()
    payload["steps"][0]["retry_count"] = 2**31
    response = api_a.post("/api/v1/traces", payload, format="json")
    fields = assert_envelope(response, 400, "validation_error")["fields"]
    assert "retry_count" in fields["steps"]["0"]


# --- 5: NUL in path parameters -------------------------------------------------------------------

NUL_PATHS = [
    ("get", "/api/v1/traces/a%00b"),
    ("delete", "/api/v1/traces/a%00b"),
    ("get", "/api/v1/runtime/runs/x%00"),
    ("post", "/api/v1/runtime/replay/x%00"),
    ("get", "/api/v1/traces/by-hash/%00"),
    ("get", "/api/v1/traces/compare/a%00/b"),
    ("get", "/api/v1/traces/compare/a/b%00"),
    ("get", "/api/v1/traces/x%00/mismatches"),
    ("post", "/api/v1/traces/x%00/mismatch"),
    ("post", "/api/v1/traces/x%00/mismatches/8d7e5a0c-0000-4000-8000-000000000000/resolve"),
    ("get", "/api/v1/runtime/skills/x%00"),
]


@pytest.mark.parametrize("method,path", NUL_PATHS)
def test_it_answers_404_for_nul_in_a_path_parameter(api_a, method, path):
    response = getattr(api_a, method)(path, {}, format="json") if method == "post" else getattr(api_a, method)(path)
    assert_envelope(response, 404, "not_found")


@pytest.mark.parametrize("query", ["agent_id=%00", "root_hash=a%00", "skill=%00", "run_id=%00"])
def test_it_refuses_nul_in_query_parameters(api_a, query):
    assert_envelope(api_a.get(f"/api/v1/traces?{query}"), 400, "validation_error")


# --- 9: forged cursors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/traces", "/api/v1/runtime/runs", "/api/v1/mismatches", "/api/v1/mismatch-groups"]
)
@pytest.mark.parametrize(
    "raw", [b"p=x", b"p=2025-13-45", b"p=2000-01-01 00:00:00+20:55x", b"o=-1&p=x", b"r=1&p=\x00", b"o=x"]
)
def test_it_answers_invalid_cursor_for_a_forged_cursor(api_a, path, raw):
    cursor = base64.b64encode(raw).decode()
    assert_envelope(api_a.get(path, {"cursor": cursor}), 400, "invalid_cursor")


@pytest.mark.parametrize("path", ["/api/v1/traces", "/api/v1/mismatches", "/api/v1/mismatch-groups"])
def test_it_accepts_a_cursor_position_with_an_offset_postgresql_refuses(api_a, tenant_a, path):
    cursor = base64.b64encode(urlencode({"p": "2999-01-01 00:00:00+20:55"}).encode()).decode()
    assert api_a.get(path, {"cursor": cursor}).status_code == 200


def test_it_still_follows_real_cursors(api_a, tenant_a):
    for _ in range(3):
        store(tenant_a, steps=1)
    first = api_a.get("/api/v1/traces?limit=2").json()
    second = api_a.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


def test_it_runs_with_a_plain_valid_body(api_a_dev):
    response = api_a_dev.post(RUNS, {"plan": plan_with({"x": 1}), "timestamp": TS, "wait": True}, format="json")
    assert response.status_code == 201, response.content


# --- 8: expressions nested in their own syntax -------------------------------------------------------


@pytest.mark.parametrize("endpoint", [SIMULATE, RUNS])
@pytest.mark.parametrize("where", ["query", "reference"])
def test_it_answers_400_for_a_jmespath_expression_with_500_nested_parentheses(api_a_dev, endpoint, where):
    expr = "(" * 500 + "input" + ")" * 500
    step = transform({"a": 1}, query=expr) if where == "query" else transform("{{ " + expr + " }}", query="@")
    body = {"plan": [step], "wait": True} if endpoint == RUNS else {"plan": [step]}
    assert_envelope(api_a_dev.post(endpoint, body, format="json"), 400, "validation_error")
    assert not Trace.objects.exists()
