"""Redaction: sensitive keys and values never reach the database; hashes still verify."""

from __future__ import annotations

import pytest
from django.db import connection

from aos_sdk.trace import Trace as TraceBuilder
from aos_sdk.trace import verify
from tests.traces.tracebuild import build
from traces.models import Trace
from traces.redaction import REDACTED, is_sensitive_key, redact, redact_string

URL = "/api/v1/traces/"

SENSITIVE_KEYS = [
    "password",
    "Password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "Access-Token",
    "refresh_token",
    "api_key",
    "API-KEY",
    "apiKey",
    "x-api-key",
    "authorization",
    "Authorization",
    "private_key",
    "private-key",
    "credentials",
    "client_secret",
    "cookie",
    "Set-Cookie",
    "github_token",
    "db_password",
]

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2
SECRET_VALUES = {
    "bearer": "Authorization: Bearer eyJhbGciOi.something-secret.value",
    "github_ghp": GH,
    "github_gho": "gho_" + "x" * 36,
    "github_ghs": "ghs_" + "y" * 36,
    "github_ghu": "ghu_" + "z" * 36,
    "github_ghr": "ghr_" + "w" * 36,
    "github_pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "slack": "xoxb-123456789012-123456789012-abcdefghijklmnop",
    "slack_user": "xoxp-123456789012-abcdefABCDEF",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "email": "alice.smith+ops@example.co.uk",
    "card": "4111 1111 1111 1111",
    "card_dashes": "5500-0000-0000-0004",
    "card_plain": "378282246310005",
}


@pytest.mark.parametrize("key", SENSITIVE_KEYS)
def test_it_redacts_each_sensitive_key(key):
    redacted, n = redact({"outer": {key: "hunter2-value"}, "ok": "visible"})
    assert redacted == {"outer": {key: REDACTED}, "ok": "visible"}
    assert n == 1


@pytest.mark.parametrize("key", ["max_tokens", "prompt_tokens", "tokenizer", "secretary_name", "keyboard", "url"])
def test_it_leaves_ordinary_keys_alone(key):
    assert not is_sensitive_key(key)
    assert redact({key: 5}) == ({key: 5}, 0)


@pytest.mark.parametrize("name", sorted(SECRET_VALUES))
def test_it_redacts_each_sensitive_value_pattern(name):
    secret = SECRET_VALUES[name]
    text, n = redact_string(f"before {secret} after")
    assert n >= 1
    assert text.startswith("before ") and text.endswith(" after")
    core = secret.split()[-1]
    assert core not in text


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "order 1234567890",
        "2025-01-01T00:00:00Z",
        "sha " + "a1234567890123456b" * 2,
        "call ghp_short",
        "AKIA-not-a-key",
    ],
)
def test_it_does_not_redact_lookalikes(text):
    assert redact_string(text) == (text, 0)


def test_it_redacts_inside_lists_urls_and_private_keys():
    value = [
        "https://bob:s3cretpw@db.example.com/x",
        "https://api.example.com/v1?token=abc123&page=2",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----",
    ]
    redacted, n = redact(value)
    assert n == 3
    assert "s3cretpw" not in redacted[0] and "abc123" not in redacted[1] and "page=2" in redacted[1]
    assert "MIIEabc" not in redacted[2]


def _raw_rows(trace_pk: int) -> str:
    """The stored JSON and text exactly as the database holds it (no ORM decoding)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT plan, metadata, input FROM traces_trace WHERE id = %s",
            [trace_pk],
        )
        trace_row = cursor.fetchone()
        cursor.execute(
            'SELECT params, output, error_message FROM traces_tracestep WHERE trace_id = %s ORDER BY "index"',
            [trace_pk],
        )
        step_rows = cursor.fetchall()
    return repr(trace_row) + repr(step_rows)


@pytest.mark.django_db
def test_it_stores_no_secret_and_keeps_the_original_hashes(api_a_dev, tenant_a):
    secrets_in = list(SECRET_VALUES.values())
    call_params = {"method": "POST", "url": "https://api.example.com/x", "client_secret": "cs-9999"}
    builder = TraceBuilder(
        plan=[{"skill": "http_call", "params": call_params}, {"skill": "json_transform", "params": {"q": "a"}}],
        seed=1,
        timestamp="2025-01-01T00:00:00Z",
        trace_id="tr-secrets",
        metadata={"password": "hunter2", "note": f"token {SECRET_VALUES['github_gho']}"},
        input={"user": SECRET_VALUES["email"]},
    )
    builder.add_step(
        skill="http_call",
        params=call_params,
        output={"headers": {"Authorization": "Bearer abc.def.ghi"}, "text": f"mail {SECRET_VALUES['email']}"},
    )
    builder.add_step(
        skill="json_transform",
        params={"q": "a"},
        output={
            "items": [{"api_key": "k-12345"}, SECRET_VALUES["card"], SECRET_VALUES["aws"]],
            "slack": SECRET_VALUES["slack"],
            "gh": GH,
            "pat": SECRET_VALUES["github_pat"],
        },
        status="failed",
        error_message=f"upstream said {SECRET_VALUES['bearer']}",
    )
    payload = builder.to_dict()

    response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["redacted"] is True
    trace = Trace.objects.get(tenant=tenant_a, trace_id="tr-secrets")
    raw = _raw_rows(trace.pk)
    for secret in [*secrets_in, "hunter2", "cs-9999", "k-12345", "abc.def.ghi"]:
        assert secret.split()[-1] not in raw, secret
    assert "REDACTED" in raw
    # Hashes are those of the original content, so the SDK's copy still verifies...
    assert trace.root_hash == payload["root_hash"]
    assert verify(payload) is None
    # ...and the stored step hashes equal what the client computed before redaction.
    stored = list(trace.steps.order_by("index").values_list("input_hash", "output_hash", "step_hash"))
    assert stored == [(s["input_hash"], s["output_hash"], s["step_hash"]) for s in payload["steps"]]


@pytest.mark.django_db
def test_it_marks_clean_traces_not_redacted(api_a_dev):
    response = api_a_dev.post(URL, build(trace_id="tr-clean").to_dict(), format="json")
    assert response.status_code == 201
    assert response.json()["redacted"] is False
    assert Trace.objects.get(trace_id="tr-clean").redacted is False
