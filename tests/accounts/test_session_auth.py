"""Admin sessions on the API: tenant and role from memberships; CSRF on unsafe methods."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def session(user, **kwargs) -> APIClient:
    client = APIClient(**kwargs)
    client.force_login(user)
    return client


def test_it_resolves_a_member_to_their_tenant_and_role(alice):
    body = session(alice).get("/api/v1/me").json()
    assert body == {
        "subject": "user:alice",
        "tenant": "tenant-a",
        "role": "operator",
        "roles": ["operator"],
        "tier": "pro",
        "method": "session",
    }


def test_it_lets_a_multi_tenant_user_pick_the_tenant(alice, tenant_b):
    Membership.objects.create(user=alice, tenant=tenant_b, role=Role.VIEWER)
    client = session(alice)
    assert client.get("/api/v1/me").json()["tenant"] == "tenant-a"  # first by slug
    picked = client.get("/api/v1/me", HTTP_X_AOS_TENANT="tenant-b").json()
    assert (picked["tenant"], picked["role"]) == ("tenant-b", "viewer")


def test_it_forbids_a_tenant_the_user_is_not_a_member_of(alice, tenant_b):
    response = session(alice).get("/api/v1/me", HTTP_X_AOS_TENANT="tenant-b")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert "tenant-b" in response.json()["message"]


def test_it_forbids_a_user_without_memberships(django_user_model, tenant_a):
    loner = django_user_model.objects.create_user(username="loner", password="pw", is_staff=True)
    response = session(loner).get("/api/v1/me")
    assert response.status_code == 403
    assert response.json() == {"error": "permission_denied", "message": "You are not a member of any tenant."}


def test_it_gives_superusers_any_tenant_as_admin(admin_user, tenant_a, tenant_b):
    client = session(admin_user)
    assert client.get("/api/v1/me").json()["tenant"] == "tenant-a"
    body = client.get("/api/v1/me", HTTP_X_AOS_TENANT="tenant-b").json()
    assert (body["tenant"], body["role"], body["method"]) == ("tenant-b", "admin", "session")
    assert client.get("/api/v1/me", HTTP_X_AOS_TENANT="nope").status_code == 403


@pytest.mark.urls("tests.accounts.role_urls")
def test_it_enforces_csrf_on_unsafe_methods(alice):
    client = session(alice, enforce_csrf_checks=True)
    assert client.get("/api/v1/_test/developer").status_code == 200  # safe: no token needed

    refused = client.post("/api/v1/_test/developer", {"x": 1}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "permission_denied"
    assert "CSRF" in refused.json()["message"]

    client.get("/admin/")  # renders the logout form: sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/_test/developer", {"x": 1}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert accepted.json()["echo"] == {"x": 1}


@pytest.mark.urls("tests.accounts.role_urls")
def test_it_does_not_need_csrf_for_api_keys(api_a):
    api_a.enforce_csrf_checks = True
    assert api_a.post("/api/v1/_test/developer", {"x": 1}, format="json").status_code == 201


def test_it_ignores_a_session_of_an_inactive_user(alice):
    client = session(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/me").status_code == 401


def test_it_costs_a_fixed_number_of_queries_per_session_request(alice, django_assert_max_num_queries):
    client = session(alice)
    with django_assert_max_num_queries(3):  # session, user, membership with its tenant
        assert client.get("/api/v1/me").status_code == 200
