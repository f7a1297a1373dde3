"""API keys: header variants, revocation, tenant binding, last_used_at, admin creation and revocation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role, hash_api_key
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def test_it_accepts_a_key_as_a_bearer_token(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, role=Role.OPERATOR)
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    body = response.json()
    assert (body["tenant"], body["role"], body["tier"], body["method"]) == ("tenant-a", "operator", "pro", "api_key")
    assert body["subject"] == f"api_key:{raw[:12]}"


def test_it_accepts_a_key_in_x_api_key(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    response = APIClient().get("/api/v1/me", HTTP_X_API_KEY=raw)
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"


def test_it_accepts_a_lower_case_bearer_scheme(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"bearer {raw}").status_code == 200


def test_it_refuses_a_revoked_key(tenant_a):
    key, raw = api_key_create(tenant=tenant_a, role=Role.OPERATOR)
    key.revoke()
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {raw}"}, {"HTTP_X_API_KEY": raw}):
        response = APIClient().get("/api/v1/me", **headers)
        assert response.status_code == 401
        assert response.json() == {"error": "not_authenticated", "message": "Invalid or revoked API key."}
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer aos_not-a-real-key"},
        {"HTTP_X_API_KEY": "aos_not-a-real-key"},
        {"HTTP_X_API_KEY": "garbage"},
        {"HTTP_AUTHORIZATION": "Bearer aos_"},
    ],
)
def test_it_refuses_unknown_keys(tenant_a, headers):
    response = APIClient().get("/api/v1/me", **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_it_refuses_other_authorization_schemes(tenant_a):
    _, raw = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == 401


def test_it_binds_a_key_to_its_tenant(api_a, api_b):
    assert api_a.get("/api/v1/me").json()["tenant"] == "tenant-a"
    assert api_b.get("/api/v1/me").json()["tenant"] == "tenant-b"


def test_it_stores_only_the_hash(tenant_a):
    key, raw = api_key_create(tenant=tenant_a, role=Role.DEVELOPER)
    key.refresh_from_db()
    assert key.key_hash == hash_api_key(raw) and raw not in key.key_hash
    assert key.prefix == raw[:12] and len(raw) > 40


def test_it_updates_last_used_at_at_most_once_a_minute(tenant_a, django_assert_num_queries):
    key, raw = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    client = APIClient(HTTP_X_API_KEY=raw)
    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        with django_assert_num_queries(2):  # lookup + last_used_at write
            assert client.get("/api/v1/me").status_code == 200
        key.refresh_from_db()
        assert key.last_used_at == start

        clock.shift(timedelta(seconds=59))
        with django_assert_num_queries(0):  # the principal is cached (accounts/principal_cache.py): no lookup
            assert client.get("/api/v1/me").status_code == 200
        key.refresh_from_db()
        assert key.last_used_at == start

        clock.shift(timedelta(seconds=2))
        with django_assert_num_queries(1):  # the write only
            assert client.get("/api/v1/me").status_code == 200
        key.refresh_from_db()
        assert key.last_used_at == start + timedelta(seconds=61)


def add_key_in_admin(client, tenant, role="developer", name="ci"):
    return client.post(
        "/admin/accounts/apikey/add/",
        {"tenant": tenant.pk, "name": name, "role": role},
        follow=True,
    )


def test_it_shows_a_new_key_once_in_the_admin_and_stores_its_hash(admin_client, tenant_a):
    response = add_key_in_admin(admin_client, tenant_a)
    assert response.status_code == 200
    shown = re.findall(r"aos_[A-Za-z0-9_-]{40,}", response.content.decode())
    assert len(shown) == 1
    raw = shown[0]
    key = ApiKey.objects.get()
    assert (key.tenant, key.role, key.name) == (tenant_a, "developer", "ci")
    assert key.key_hash == hash_api_key(raw)
    assert raw not in (key.prefix, key.key_hash)
    # Shown once: neither the list nor the key's page shows it again.
    assert raw not in admin_client.get("/admin/accounts/apikey/").content.decode()
    assert raw not in admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    # And it works.
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=raw).json()["tenant"] == "tenant-a"


def test_it_shows_the_new_key_on_the_response_page_never_in_a_cookie_or_the_session(admin_client, tenant_a):
    response = admin_client.post("/admin/accounts/apikey/add/", {"tenant": tenant_a.pk, "name": "ci", "role": "admin"})
    assert response.status_code == 200  # the page itself, not a redirect carrying a message
    assert "no-store" in response["Cache-Control"]
    (raw,) = re.findall(r"aos_[A-Za-z0-9_-]{40,}", response.content.decode())
    assert ApiKey.objects.get().key_hash == hash_api_key(raw)
    cookies = "".join(morsel.OutputString() for morsel in admin_client.cookies.values())
    assert raw not in cookies and raw[4:20] not in cookies  # the messages cookie once carried it
    assert raw not in str(dict(admin_client.session.items()))
    assert raw not in admin_client.get("/admin/").content.decode()


def test_it_revokes_keys_from_the_admin_action(admin_client, tenant_a):
    first, raw = api_key_create(tenant=tenant_a, role=Role.OPERATOR)
    second, _ = api_key_create(tenant=tenant_a, role=Role.VIEWER)
    response = admin_client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [first.pk]},
        follow=True,
    )
    assert "Revoked 1 API key." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked and not second.revoked
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=raw).status_code == 401


def test_it_lets_a_tenant_admin_create_keys_only_for_their_tenant(client, django_user_model, tenant_a, tenant_b):
    from accounts.models import Membership

    admin_of_a = django_user_model.objects.create_user(username="ada", password="pw-ada", is_staff=True)
    Membership.objects.create(user=admin_of_a, tenant=tenant_a, role=Role.ADMIN)
    client.force_login(admin_of_a)

    assert add_key_in_admin(client, tenant_b).status_code == 200
    assert not ApiKey.objects.filter(tenant=tenant_b).exists()  # tenant B is not a valid choice
    add_key_in_admin(client, tenant_a)
    assert ApiKey.objects.filter(tenant=tenant_a).count() == 1


def test_it_keeps_operators_from_creating_keys_in_the_admin(client, alice, tenant_a):
    client.force_login(alice)
    assert client.get("/admin/accounts/apikey/add/").status_code == 403
    assert client.get("/admin/accounts/apikey/").status_code == 200


def test_it_keeps_revocation_final_and_the_tenant_fixed_in_the_admin(admin_client, tenant_a, tenant_b):
    key, raw = api_key_create(tenant=tenant_a, role=Role.VIEWER, name="old")
    key.revoke()
    response = admin_client.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        {"tenant": tenant_b.pk, "name": "renamed", "role": "admin", "revoked_at_0": "", "revoked_at_1": ""},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.role, key.tenant, key.revoked) == ("renamed", "admin", tenant_a, True)
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=raw).status_code == 401
