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
