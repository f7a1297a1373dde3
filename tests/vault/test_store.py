"""The tenant secret store: write-only API, encryption at rest, key rotation, command, admin, checks."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Role
from aosproject.checks import check_configuration
from tests.conftest import client_with_key
from vault import crypto
from vault.models import Secret
from vault.services import secret_reveal

URL = "/api/v1/secrets"
VALUE = "s3cr3t-value-Zq81"


@pytest.fixture
def admin_a(tenant_a):
    return client_with_key(tenant_a, Role.ADMIN)


@pytest.fixture
def admin_b(tenant_b):
    return client_with_key(tenant_b, Role.ADMIN)


@pytest.fixture(autouse=True)
def _fresh_keys():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def _raw_column(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value_encrypted FROM vault_secret WHERE name = %s", [name])
        return cursor.fetchone()[0]


def test_it_creates_replaces_lists_and_deletes_without_ever_returning_the_value(admin_a):
    created = admin_a.put(f"{URL}/GH_TOKEN", {"value": VALUE}, format="json")
    assert created.status_code == 201, created.content
    assert set(created.json()) == {"name", "created_at", "updated_at", "last_used_at"}
    replaced = admin_a.put(f"{URL}/GH_TOKEN", {"value": VALUE + "-2"}, format="json")
    assert replaced.status_code == 200
    listed = admin_a.get(URL)
    assert [s["name"] for s in listed.json()] == ["GH_TOKEN"]
    assert admin_a.get(f"{URL}/GH_TOKEN").json()["name"] == "GH_TOKEN"
    for response in (created, replaced, listed):
        assert VALUE not in response.content.decode()
    assert admin_a.delete(f"{URL}/GH_TOKEN").status_code == 204
    assert admin_a.delete(f"{URL}/GH_TOKEN").status_code == 404
    assert admin_a.get(URL).json() == []


def test_it_needs_the_admin_role(tenant_a):
    for role in (Role.VIEWER, Role.DEVELOPER, Role.OPERATOR):
        client = client_with_key(tenant_a, role)
        assert client.get(URL).status_code == 403
        assert client.put(f"{URL}/X_TOKEN", {"value": VALUE}, format="json").status_code == 403
    assert not Secret.objects.exists()


def test_it_answers_404_for_another_tenants_secret(admin_a, admin_b):
    admin_a.put(f"{URL}/SHARED", {"value": VALUE}, format="json")
    assert admin_b.get(f"{URL}/SHARED").status_code == 404
    assert admin_b.delete(f"{URL}/SHARED").status_code == 404
    assert admin_b.get(URL).json() == []
    # The same name in tenant B is its own secret.
    assert admin_b.put(f"{URL}/SHARED", {"value": "other-value"}, format="json").status_code == 201
    assert Secret.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("lower", {"value": VALUE}, "name"),
        ("1ST", {"value": VALUE}, "name"),
        ("A" * 65, {"value": VALUE}, "name"),
        ("OK", {"value": "abc"}, "value"),
        ("OK", {"value": 12345}, "value"),
        ("OK", {}, "value"),
        ("OK", {"value": VALUE, "extra": 1}, "extra"),
    ],
)
def test_it_refuses_bad_names_and_values(admin_a, name, body, field):
    response = admin_a.put(f"{URL}/{name}", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error" and field in response.json()["fields"]


def test_it_caps_the_value_size(admin_a, settings):
    settings.AOS_SECRET_MAX_BYTES = 64
    response = admin_a.put(f"{URL}/BIG", {"value": "x" * 65}, format="json")
    assert response.status_code == 400 and "AOS_SECRET_MAX_BYTES" in response.json()["message"]


def test_it_stores_only_ciphertext_and_survives_a_key_rotation(admin_a, tenant_a, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.AOS_SECRETS_KEYS = [old]
    admin_a.put(f"{URL}/DB_PASSWORD", {"value": VALUE}, format="json")
    raw = _raw_column("DB_PASSWORD")
    assert VALUE not in raw and Fernet(old.encode()).decrypt(raw.encode()).decode() == VALUE

    settings.AOS_SECRETS_KEYS = [new, old]  # new key first: old secrets stay readable
    crypto._fernet.cache_clear()
    assert secret_reveal(tenant=tenant_a, name="DB_PASSWORD") == VALUE
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "re-encrypted 1 secret with the first key" in out.getvalue()
    settings.AOS_SECRETS_KEYS = [new]  # the old key can go now
    crypto._fernet.cache_clear()
    assert secret_reveal(tenant=tenant_a, name="DB_PASSWORD") == VALUE


def test_it_names_the_problem_when_the_keys_are_wrong(admin_a, tenant_a, settings):
    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode()]
    admin_a.put(f"{URL}/API_KEY", {"value": VALUE}, format="json")
    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    from vault.references import SecretError

    with pytest.raises(SecretError) as raised:
        secret_reveal(tenant=tenant_a, name="API_KEY")
    assert raised.value.code == "ERR_SECRET_UNREADABLE" and "AOS_SECRETS_KEYS" in raised.value.message
    with pytest.raises(CommandError, match="tenant-a/API_KEY"):
        call_command("rotate_secrets", stdout=io.StringIO())
    settings.AOS_SECRETS_KEYS = ["not-a-key"]
    crypto._fernet.cache_clear()
    response = admin_a.put(f"{URL}/API_KEY", {"value": VALUE}, format="json")
    assert response.status_code == 503 and response.json()["error"] == "secrets_unavailable"
    assert "key #1" in response.json()["message"]


def test_it_reports_missing_and_malformed_keys_as_system_check_errors(settings):
    settings.DEBUG = False
    settings.SECRET_KEY_FROM_ENV = True
    settings.REDIS_URL = "redis://cache:6379/0"
    settings.AOS_SECRETS_KEYS = []
    assert "aos.E013" in [m.id for m in check_configuration(None)]
    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode(), "short"]
    [problem] = [m for m in check_configuration(None) if m.id.startswith("aos.E01")]
    assert problem.id == "aos.E014" and "key #2" in problem.msg and "short" not in problem.msg


def test_it_refuses_to_use_secrets_without_keys_when_debug_is_off(admin_a, settings):
    settings.AOS_SECRETS_KEYS, settings.AOS_SECRETS_DEV_KEY = [], False
    response = admin_a.put(f"{URL}/X_TOKEN", {"value": VALUE}, format="json")
    assert response.status_code == 503 and "AOS_SECRETS_KEYS is not set" in response.json()["message"]


def test_it_sets_a_secret_from_standard_input_only(tenant_a, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(VALUE + "\n"))
    out = io.StringIO()
    call_command("set_secret", "SLACK_WEBHOOK", tenant="tenant-a", stdout=out)
    assert out.getvalue().strip() == "set_secret: created SLACK_WEBHOOK for tenant tenant-a"
    assert secret_reveal(tenant=tenant_a, name="SLACK_WEBHOOK") == VALUE
    monkeypatch.setattr("sys.stdin", io.StringIO("x"))
    with pytest.raises(CommandError, match="at least"):
        call_command("set_secret", "SLACK_WEBHOOK", tenant="tenant-a", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No tenant"):
        call_command("set_secret", "SLACK_WEBHOOK", tenant="nope", stdout=io.StringIO())


def test_it_documents_the_endpoints_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"get", "put", "delete"} <= set(schema["paths"]["/api/v1/secrets/{name}"])
    assert "get" in schema["paths"]["/api/v1/secrets"]
    [body] = schema["paths"]["/api/v1/secrets/{name}"]["put"]["requestBody"]["content"].values()
    assert "value" in str(schema["components"]["schemas"]) and body


def test_it_has_an_admin_form_with_a_password_input_that_shows_only_names(client, django_user_model, tenant_a):
    from accounts.models import Membership

    user = django_user_model.objects.create_user(username="ada", password="pw-ada-123", is_staff=True)
    Membership.objects.create(user=user, tenant=tenant_a, role=Role.ADMIN)
    client.force_login(user)
    add = client.get("/admin/vault/secret/add/")
    assert add.status_code == 200 and 'type="password"' in add.content.decode()
    saved = client.post("/admin/vault/secret/add/", {"tenant": tenant_a.pk, "name": "ADMIN_SET", "value": VALUE})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    secret = Secret.objects.get(name="ADMIN_SET")
    assert secret_reveal(tenant=tenant_a, name="ADMIN_SET") == VALUE
    for page in ("/admin/vault/secret/", f"/admin/vault/secret/{secret.pk}/change/"):
        html = client.get(page).content.decode()
        assert "ADMIN_SET" in html and VALUE not in html and secret.value_encrypted not in html


def test_it_scopes_the_admin_to_tenants_where_the_user_is_admin(client, django_user_model, tenant_a, tenant_b):
    from accounts.models import Membership
    from vault.services import secret_put

    user = django_user_model.objects.create_user(username="ada", password="pw-ada-123", is_staff=True)
    Membership.objects.create(user=user, tenant=tenant_a, role=Role.ADMIN)
    Membership.objects.create(user=user, tenant=tenant_b, role=Role.OPERATOR)
    theirs, _ = secret_put(tenant=tenant_b, name="B_ONLY", value=VALUE)
    client.force_login(user)
    page = client.get(f"/admin/vault/secret/{theirs.pk}/change/").content.decode()
    assert "B_ONLY" in page and 'name="_save"' not in page  # an operator of B sees the name, nothing more
    assert client.post(f"/admin/vault/secret/{theirs.pk}/change/", {"value": "overwritten"}).status_code == 403
    assert secret_reveal(tenant=tenant_b, name="B_ONLY") == VALUE
    refused = client.post("/admin/vault/secret/add/", {"tenant": tenant_b.pk, "name": "SNEAKY", "value": VALUE})
    assert refused.status_code == 200 and not Secret.objects.filter(name="SNEAKY").exists()


@pytest.mark.django_db(transaction=True)
def test_it_stores_one_secret_when_two_first_puts_race(tenant_a):
    import threading

    from django.db import close_old_connections

    from vault.services import secret_put

    barrier = threading.Barrier(2)
    created: list[bool] = []

    def put(value: str) -> None:
        try:
            barrier.wait(timeout=5)
            created.append(secret_put(tenant=tenant_a, name="RACE", value=value)[1])
        finally:
            close_old_connections()

    threads = [threading.Thread(target=put, args=(f"value-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(created) == [False, True]
    assert Secret.objects.filter(name="RACE").count() == 1
    assert secret_reveal(tenant=tenant_a, name="RACE") in {"value-0", "value-1"}


def _manage_env() -> dict:
    """The environment of a `manage.py` subprocess that uses this test's database."""
    import os

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_readme_commands_with_a_real_pipe(tenant_a):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**_manage_env(), "VALUE": VALUE}
    command = f"printf '%s' \"$VALUE\" | {sys.executable} manage.py set_secret --tenant tenant-a GITHUB_TOKEN"
    done = subprocess.run(["sh", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "set_secret: created GITHUB_TOKEN for tenant tenant-a"
    assert VALUE not in done.stdout + done.stderr
    assert secret_reveal(tenant=tenant_a, name="GITHUB_TOKEN") == VALUE
    rotated = subprocess.run(
        [sys.executable, "manage.py", "rotate_secrets"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert rotated.returncode == 0 and "re-encrypted 1 secret with the first key" in rotated.stdout, rotated.stderr
