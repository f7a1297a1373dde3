# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""`{{ secrets.NAME }}` in a real run: the skill gets the value, nothing that leaves the execution does.

The echo stand-in answers with the Authorization header it received and the obvious encodings of
the token (URL-encoded, basic auth, JSON), so every stored or shown copy must be masked.
"""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from accounts.models import Role
from aos_sdk import hashing
from aosproject.models import IdempotencyRecord
from tests.conftest import client_with_key
from tests.runtime.helpers import RUNS, SIMULATE, TS
from tests.servers import LocalServer
from tests.triage.github_standin import github, github_on, slack  # noqa: F401  (fixtures)
from traces.models import Trace
from triage.models import Mismatch
from vault.models import Secret

V1 = 'Zq81-"s3cr3t"/val+ue'
V2 = 'R0tated-"v2"/x+y'
NAME = "API_TOKEN"
SAW = "Saw {{ steps[0].output.body }}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def encodings(value: str) -> list[str]:
    return [
        value,
        quote(value, safe=""),
        quote(value, safe="!#$%&'()*+,/:;=?@[]~"),  # what requests sends in a URL
        json.dumps(value)[1:-1],
        b64(f"user:{value}"),
        b64(value),
    ]


def assert_clean(text: str, *values: str) -> None:
    for value in values or (V1, V2):
        for encoded in encodings(value):
            assert encoded not in text, f"{encoded!r} leaked"


def echo(method, path, headers, body):
    auth = headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ")
    return (
        200,
        {},
        {
            "authorization": auth,
            "path": path,
            "url_encoded": quote(token, safe=""),
            "basic": "Basic " + b64(f"user:{token}"),
            "json": json.dumps({"t": token}),
        },
    )


def secret_plan(url: str) -> list[dict]:
    return [
        {
            "skill": "http_call",
            "params": {
                "url": url + "/echo?token={{ secrets.API_TOKEN }}",
                "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
                "retries": 0,
            },
        },
        {
            "skill": "llm_invoke",
            "params": {"messages": [{"role": "user", "content": "Saw {{ steps[0].output.body }}"}]},
        },
    ]


@pytest.fixture
def admin_a(tenant_a):
    return client_with_key(tenant_a, Role.ADMIN)


@pytest.fixture
def echo_server(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(echo) as server:
        yield server


def put_secret(client, value: str, name: str = NAME) -> None:
    response = client.put(f"/api/v1/secrets/{name}", {"value": value}, format="json")
    assert response.status_code in (200, 201), response.content


@pytest.fixture
def secret_run(admin_a, api_a_dev, echo_server, caplog):
    put_secret(admin_a, V1)
    caplog.set_level(logging.DEBUG)  # urllib3 logs the request line, token included, at DEBUG
    body = {"plan": secret_plan(echo_server.url), "seed": 7, "timestamp": TS, "wait": True}
    response = api_a_dev.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="run-with-secret")
    assert response.status_code == 201, response.content
    return response


def test_it_hands_the_value_to_the_skill_and_stores_only_the_reference(secret_run, echo_server, caplog):
    [request] = echo_server.requests
    assert request["headers"]["Authorization"] == f"Bearer {V1}"
    body = secret_run.json()
    assert body["status"] == "succeeded", (body["error_message"], body["steps"])
    step = body["steps"][0]
    assert step["params"]["headers"] == {"Authorization": "Bearer {{ secrets.API_TOKEN }}"}
    assert step["input_hash"] == hashing.input_hash(step["params"])  # the hash covers the reference
    assert step["output"]["body"]["authorization"] == "Bearer ***"
    assert step["output"]["body"]["basic"] == "Basic ***"
    assert "***" in body["steps"][1]["params"]["messages"][0]["content"]  # later steps see the masked output
    assert_clean(secret_run.content.decode())
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.get_records("setup"))
    assert "token=***" in logged  # urllib3 logged the request line: masked
    assert_clean(logged)
    assert Secret.objects.get(name=NAME).last_used_at is not None


def _raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608  (fixed table names)
        return repr(cursor.fetchall())


def test_it_keeps_stored_rows_and_every_api_response_free_of_the_value(secret_run, tenant_a):
    run_id, trace_id = secret_run.json()["run_id"], secret_run.json()["trace_id"]
    replayed = client_with_key(tenant_a, Role.DEVELOPER).post(
        f"/api/v1/runtime/replay/{run_id}", {"mode": "live"}, format="json"
    )
    assert replayed.json()["parity"] is True, replayed.json()
    for table in ("traces_trace", "traces_tracestep", "runtime_idempotencyrecord", "traces_mismatch", "vault_secret"):
        assert_clean(_raw_rows(table))
    assert IdempotencyRecord.objects.get(key="run-with-secret").response_body["steps"][0]["output"]
    root = Trace.objects.get(trace_id=trace_id).root_hash
    paths = [
        RUNS,
        f"{RUNS}/{run_id}",
        "/api/v1/traces",
        f"/api/v1/traces/{trace_id}",
        f"/api/v1/traces/by-hash/{root}",
        f"/api/v1/traces/compare/{trace_id}/{replayed.json()['replay_run_id']}",
        f"/api/v1/traces/{trace_id}/mismatches",
        "/api/v1/mismatches",
        "/api/v1/secrets",
    ]
    for role in Role.values:
        client = client_with_key(tenant_a, role)
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 403), (role, path, response.status_code)
            assert_clean(response.content.decode())


def test_it_keeps_the_admin_trace_and_idempotency_pages_free_of_the_value(secret_run, client):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root")
    client.force_login(root)
    trace = Trace.objects.get(trace_id=secret_run.json()["trace_id"])
    record = IdempotencyRecord.objects.get(key="run-with-secret")
    pages = [
        reverse("admin:traces_trace_change", args=[trace.pk]),
        reverse("admin:traces_trace_changelist"),
        reverse("admin:aosproject_idempotencyrecord_change", args=[record.pk]),
        reverse("admin:vault_secret_changelist"),
    ]
    # The trace page loads the trace's JSON and long step values from its JSON view: clean too.
    json_pages = [reverse("admin:traces_trace_json", args=[trace.pk, part]) for part in ("plan", "input", "metadata")]
    for index in range(trace.total_steps):
        json_pages += [
            f"{reverse('admin:traces_trace_json', args=[trace.pk, part])}?step={index}" for part in ("params", "output")
        ]
    for page in pages + json_pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert_clean(response.content.decode())
    assert "Bearer ***" in client.get(pages[0]).content.decode()


def test_it_keeps_replay_parity_after_the_secret_is_rotated(secret_run, admin_a, api_a_dev, echo_server):
    put_secret(admin_a, V2)
    replayed = api_a_dev.post(f"/api/v1/runtime/replay/{secret_run.json()['run_id']}", {"mode": "live"}, format="json")
    assert replayed.json()["parity"] is True, replayed.json()["divergence"]
    assert echo_server.requests[-1]["headers"]["Authorization"] == f"Bearer {V2}"
    assert_clean(replayed.content.decode())


def test_it_masks_mismatch_details_and_the_github_and_slack_notifications(
    secret_run, api_a_dev, github_on, slack, settings, django_capture_on_commit_callbacks, caplog, client
):
    run_id = secret_run.json()["run_id"]
    trace = Trace.objects.get(run_id=run_id)
    trace.steps.filter(index=0).update(output={"status_code": 200, "body": {"authorization": "Bearer ***", "x": 1}})
    with django_capture_on_commit_callbacks(execute=True):
        replayed = api_a_dev.post(f"/api/v1/runtime/replay/{run_id}", {"mode": "live"}, format="json")
    result = replayed.json()
    assert result["parity"] is False and result["divergence"]["reason"] == "output_mismatch"
    assert result["divergence"]["actual"]["body"]["authorization"] == "Bearer ***"
    assert_clean(replayed.content.decode())
    mismatch = Mismatch.objects.get(pk=result["mismatch_id"])
    assert_clean(json.dumps(mismatch.details))
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-root"))
    page = client.get(reverse("admin:triage_mismatch_change", args=[mismatch.pk]))
    assert page.status_code == 200 and "Bearer ***" in page.content.decode()  # expected/actual side by side
    assert_clean(page.content.decode())
    with django_capture_on_commit_callbacks(execute=True):  # same fingerprint: a comment on the issue
        api_a_dev.post(f"/api/v1/runtime/replay/{run_id}", {"mode": "live"}, format="json")
    [issue] = github_on.created_issues()
    assert "Bearer ***" in issue["body"]  # the details are in the body, masked
    assert issue["comments"] and "Bearer ***" in issue["comments"][0]
    settings.GITHUB_TOKEN = ""  # now Slack is the channel
    settings.SLACK_MISMATCH_WEBHOOK = slack.url + "/hook"
    with django_capture_on_commit_callbacks(execute=True):
        api_a_dev.post(f"/api/v1/runtime/replay/{run_id}", {"mode": "live"}, format="json")
    assert slack.requests, "Slack got nothing"
    sent = [issue["body"], *issue["comments"], *(r["body"].decode() for r in slack.requests)]
    for text in sent:
        assert_clean(text)
    assert_clean(caplog.text)


def test_it_does_not_let_another_tenant_use_or_see_the_secret(secret_run, api_b, tenant_b, echo_server):
    requests_before = len(echo_server.requests)
    body = {"plan": secret_plan(echo_server.url), "seed": 7, "timestamp": TS, "wait": True}
    response = api_b.post(RUNS, body, format="json")
    step = response.json()["steps"][0]
    assert step["error_code"] == "ERR_SECRET_NOT_FOUND" and NAME in step["error_message"]
    assert len(echo_server.requests) == requests_before  # nothing was sent
    simulated = api_b.post(SIMULATE, {"plan": secret_plan(echo_server.url)}, format="json").json()
    assert simulated["status"] == "permission_denied" and simulated["feasible"] is False
    assert simulated["permission_gaps"] == [
        {"step_index": 0, "skill_id": "http_call", "reason": f"secret {NAME!r} is not set for tenant", "secret": NAME}
    ]
    assert client_with_key(tenant_b, Role.ADMIN).get(f"/api/v1/secrets/{NAME}").status_code == 404


def test_it_simulates_a_plan_whose_secrets_exist_as_feasible(secret_run, api_a_dev, echo_server):
    simulated = api_a_dev.post(SIMULATE, {"plan": secret_plan(echo_server.url)}, format="json").json()
    assert simulated["permission_gaps"] == [] and simulated["status"] != "permission_denied"


def test_it_never_resolves_secret_text_that_comes_from_the_input(admin_a, api_a_dev, echo_server):
    put_secret(admin_a, V1)
    plan = [{"skill": "http_call", "params": {"url": echo_server.url + "/x", "headers": {"X-Echo": "{{ input.v }}"}}}]
    body = {"plan": plan, "input": {"v": "{{ secrets.API_TOKEN }}"}, "wait": True}
    assert api_a_dev.post(RUNS, body, format="json").status_code == 201
    assert echo_server.requests[-1]["headers"]["X-Echo"] == "{{ secrets.API_TOKEN }}"


@pytest.mark.parametrize(
    ("expression", "message"),
    [("secrets", "must start with"), ("secrets.lower", "is invalid"), ("secrets.A.b", "must start with")],
)
def test_it_refuses_references_that_are_not_secrets_name(api_a_dev, expression, message):
    plan = [{"skill": "llm_invoke", "params": {"messages": [{"role": "user", "content": "{{ " + expression + " }}"}]}}]
    response = api_a_dev.post(RUNS, {"plan": plan, "wait": True}, format="json")
    assert response.status_code == 400 and message in response.json()["message"]


def test_it_posts_to_a_slack_webhook_url_kept_as_a_secret(admin_a, api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {"Content-Type": "text/plain"}, b"ok")) as hook:
        url = hook.url + "/services/T0/B0/s3cretPathPart"
        put_secret(admin_a, url, name="SLACK_WEBHOOK")
        plan = [{"skill": "webhook_send", "params": {"url": "{{ secrets.SLACK_WEBHOOK }}", "text": "deployed"}}]
        response = api_a_dev.post(RUNS, {"plan": plan, "wait": True}, format="json")
        assert response.status_code == 201 and response.json()["status"] == "succeeded", response.content
        [request] = hook.requests
    assert request["path"] == "/services/T0/B0/s3cretPathPart" and json.loads(request["body"]) == {"text": "deployed"}
    assert response.json()["steps"][0]["params"]["url"] == "{{ secrets.SLACK_WEBHOOK }}"
    assert_clean(response.content.decode(), url)


def test_it_masks_the_value_in_error_messages_of_a_failed_step(admin_a, api_a_dev, settings):
    from tests.triage.github_standin import closed_port_url

    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    put_secret(admin_a, V1)
    url = closed_port_url() + "/x?token={{ secrets.API_TOKEN }}"
    plan = [{"skill": "http_call", "params": {"url": url, "retries": 0}}]
    response = api_a_dev.post(RUNS, {"plan": plan, "wait": True}, format="json")
    body = response.json()
    assert response.status_code == 201 and body["status"] == "failed"
    step = body["steps"][0]
    assert step["error_code"] == "ERR_TRANSPORT" and "token=***" in step["error_message"], step["error_message"]
    assert_clean(response.content.decode())
    assert_clean(_raw_rows("traces_trace") + _raw_rows("traces_tracestep"))


def test_it_fails_the_step_clearly_when_no_key_decrypts_the_secret(admin_a, api_a_dev, echo_server, settings):
    from cryptography.fernet import Fernet

    from vault import crypto

    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    put_secret(admin_a, V1)
    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode()]  # the old key was dropped too early
    crypto._fernet.cache_clear()
    try:
        response = api_a_dev.post(RUNS, {"plan": secret_plan(echo_server.url), "wait": True}, format="json")
    finally:
        crypto._fernet.cache_clear()
    assert response.status_code == 201
    step = response.json()["steps"][0]
    assert step["error_code"] == "ERR_SECRET_UNREADABLE" and "AOS_SECRETS_KEYS" in step["error_message"]
    assert not echo_server.requests


def test_it_rate_limits_the_secret_endpoints_like_every_api_path(admin_a):
    response = admin_a.get("/api/v1/secrets")
    assert response.status_code == 200 and response["X-RateLimit-Limit"] == "1200"  # tier pro
