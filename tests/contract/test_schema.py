"""Issue 12, finding 12: an OpenAPI schema a client can be generated from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from runtime.skills import REGISTRY
from traces.models import Trace

ROOT = Path(__file__).resolve().parent.parent.parent
TAGS = {"runtime", "traces", "mismatches", "alerts", "secrets", "account"}
ERROR_REF = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_it_serves_a_valid_openapi_3_1_schema(schema):
    assert schema["openapi"].startswith("3.1")
    validate(schema)  # raises on any violation of the OpenAPI 3.1 specification


def test_it_generates_the_schema_without_warnings(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(tmp_path / "s.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr


def test_it_tags_every_operation_by_area_and_documents_its_errors_with_the_envelope(schema):
    for path, method, operation in operations(schema):
        assert len(operation["tags"]) == 1 and operation["tags"][0] in TAGS, (method, path)
        errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
        assert {"400", "401"} <= set(errors), (method, path, sorted(errors))
        for code, response in errors.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (method, path, code)
        if operation["security"] != [{}] and path != "/api/v1/alerts/webhook" and "github" not in path:
            assert {"403", "429"} <= set(errors), (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(errors), (method, path)
    assert {"error", "message"} <= set(schema["components"]["schemas"]["ErrorEnvelope"]["required"])


def test_it_types_the_plan_from_the_skill_registry(schema):
    components = schema["components"]["schemas"]
    plan = components["RunInputRequest"]["properties"]["plan"]
    assert plan["items"] == {"$ref": "#/components/schemas/RunPlanStep"}
    variants = [v["$ref"].rsplit("/", 1)[1] for v in components["RunPlanStep"]["oneOf"]]
    assert variants == [f"RunPlanStep_{skill}" for skill in sorted(REGISTRY)]
    llm = components["RunPlanStep_llm_invoke"]
    assert llm["properties"]["skill"]["const"] == "llm_invoke"
    assert llm["properties"]["params"]["properties"]["max_tokens"]["maximum"] == 4096
    assert llm["properties"]["params"]["required"] == ["messages"]
    assert llm["additionalProperties"] is False
    simulate = components["SimulateInputRequest"]["properties"]["plan"]["items"]["$ref"]
    assert "unknown skill" in [v.get("title") for v in components[simulate.rsplit("/", 1)[1]]["oneOf"]]


def test_it_refuses_unknown_fields_in_the_schema_where_the_server_does(schema):
    components = schema["components"]["schemas"]
    for name in ("SimulateInputRequest", "RunInputRequest", "ReplayInputRequest", "TraceIngestRequest"):
        assert components[name]["additionalProperties"] is False, name
    assert components["WebhookPayloadRequest"]["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}


def test_it_documents_formats_nullability_and_the_idempotency_key(schema):
    components = schema["components"]["schemas"]
    assert components["RunInputRequest"]["properties"]["timestamp"]["format"] == "date-time"
    assert components["MismatchReported"]["properties"]["issue_url"]["type"] == ["string", "null"]
    assert components["MismatchReported"]["properties"]["issue_url"]["format"] == "uri"
    idempotent = {
        (path, method)
        for path, method, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    }
    assert idempotent == {
        ("/api/v1/runtime/simulate", "post"),
        ("/api/v1/runtime/runs", "post"),
        ("/api/v1/runtime/replay/{run_id}", "post"),
        ("/api/v1/traces", "post"),
        ("/api/v1/traces/{trace_id}/mismatch", "post"),
        ("/api/v1/traces/mismatches/bulk-report", "post"),
    }
    header = next(
        p for p in schema["paths"]["/api/v1/runtime/runs"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    )
    assert header["schema"]["maxLength"] == 255 and "422" in header["description"]


@pytest.mark.django_db
@pytest.mark.parametrize("path,expected", [("/api/v1/runtime/simulate", 200), ("/api/v1/runtime/runs", 201)])
def test_it_accepts_the_schemas_try_it_out_example(schema, api_a_dev, path, expected):
    example = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]
    response = api_a_dev.post(path, example, format="json")
    assert response.status_code == expected, response.content
    if path.endswith("runs"):
        assert response.json()["status"] == "succeeded"
        assert Trace.objects.filter(run_id=response.json()["run_id"]).exists()
