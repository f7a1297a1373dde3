"""Fast checks of the foundation's promises: probes, envelope, provisioning commands."""

import io

import pytest
from django.core.management import call_command

from accounts.models import ApiKey, Tenant, hash_api_key


def test_it_answers_health(client):
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_reports_ready_when_database_and_cache_answer(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_it_names_the_cache_when_not_ready(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    response = client.get("/ready")
    assert response.status_code == 503
    assert set(response.json()["failed"]) == {"cache"}


@pytest.mark.django_db
def test_it_answers_unknown_api_paths_with_the_envelope(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.django_db
def test_it_creates_tenant_and_key_from_the_command_line():
    out = io.StringIO()
    call_command("create_tenant", "acme", "--tier", "dev", stdout=out)
    assert Tenant.objects.get(slug="acme").tier == "dev"
    out = io.StringIO()
    call_command("create_api_key", "--tenant", "acme", "--role", "operator", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("aos_")
    key = ApiKey.objects.get(key_hash=hash_api_key(raw))
    assert key.tenant.slug == "acme" and key.role == "operator"
    assert raw not in (key.key_hash, key.prefix)


def _ready_in_a_fresh_process(**env_overrides) -> tuple[int, dict]:
    """GET /ready in a separate process whose settings point at an unreachable service."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django, json; django.setup();"
        "from django.test import Client; r = Client().get('/ready');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "aosproject.settings", "LOG_LEVEL": "CRITICAL", **env_overrides})
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def test_it_names_the_database_when_not_ready():
    status, body = _ready_in_a_fresh_process(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    assert status == 503
    assert set(body["failed"]) == {"database"}
    assert body["error"] == "not_ready" and "database" in body["message"]


def test_it_names_both_when_database_and_redis_are_down():
    status, body = _ready_in_a_fresh_process(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", REDIS_URL="redis://127.0.0.1:1/0"
    )
    assert status == 503
    assert set(body["failed"]) == {"database", "cache"}


@pytest.mark.django_db
def test_it_serves_the_openapi_schema_and_the_docs(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["info"]["title"] == "AOS Control Plane API"
    assert "/api/v1/me" in document["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"/api/schema/" in docs.content


def test_it_serves_the_docs_assets_itself(live_server):
    """/api/docs/ works offline: Swagger UI comes from our static files, not a CDN."""
    import re

    import requests

    html = requests.get(f"{live_server.url}/api/docs/", timeout=10).text
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    for asset in assets:
        response = requests.get(f"{live_server.url}{asset}", timeout=10)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000


def test_it_generates_a_valid_schema_with_our_security_schemes(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--file", str(tmp_path / "schema.yaml"), "--validate"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "could not resolve authenticator" not in result.stderr
    schema = (tmp_path / "schema.yaml").read_text()
    assert schema.startswith("openapi: 3")
    for scheme in ("ApiKey:", "BearerJWT:", "AdminSession:"):
        assert scheme in schema
