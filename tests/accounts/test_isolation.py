"""Tenant isolation: another tenant's objects are 404 (never 403), on the API and in the admin."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey, Role
from accounts.services import api_key_create
from traces.models import Trace

pytestmark = pytest.mark.django_db


@pytest.fixture
def trace_of_a(tenant_a):
    return Trace.objects.create(
        tenant=tenant_a,
        trace_id="tr-shared-id",
        source="ingest",
        plan=[],
        plan_hash="0" * 64,
        frozen_timestamp="2026-01-01T00:00:00Z",
        status="succeeded",
    )


def test_it_answers_404_for_another_tenants_trace(api_a, api_b, trace_of_a):
    assert api_a.get("/api/v1/traces/tr-shared-id").status_code == 200
    response = api_b.get("/api/v1/traces/tr-shared-id")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_it_answers_404_for_a_trace_that_does_not_exist_the_same_way(api_b, trace_of_a):
    foreign = api_b.get("/api/v1/traces/tr-shared-id")
    missing = api_b.get("/api/v1/traces/tr-never-existed")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == missing.json()["error"] == "not_found"


def test_it_keeps_the_same_trace_id_apart_per_tenant(api_a, api_b, tenant_b, trace_of_a):
    Trace.objects.create(
        tenant=tenant_b,
        trace_id="tr-shared-id",
        source="ingest",
        plan=[],
        plan_hash="1" * 64,
        frozen_timestamp="2026-01-01T00:00:00Z",
    )
    assert api_a.get("/api/v1/traces/tr-shared-id").json()["plan_hash"] == "0" * 64
    assert api_b.get("/api/v1/traces/tr-shared-id").json()["plan_hash"] == "1" * 64


def test_it_does_not_let_another_tenant_delete_a_trace(api_b, trace_of_a):
    assert api_b.delete("/api/v1/traces/tr-shared-id").status_code == 404
    assert Trace.objects.filter(pk=trace_of_a.pk).exists()


def test_it_hides_another_tenants_api_keys_memberships_and_tenant_in_the_admin(client, alice, carol, tenant_a):
    key_of_a, _ = api_key_create(tenant=tenant_a, role=Role.ADMIN, name="a-secret-key")
    membership_of_a = alice.memberships.get()
    client.force_login(carol)

    listing = client.get("/admin/accounts/apikey/")
    assert listing.status_code == 200
    assert "a-secret-key" not in listing.content.decode()
    # An object outside the caller's tenants is a 404 on every object view, like one that does not exist.
    for url in (
        f"/admin/accounts/apikey/{key_of_a.pk}/change/",
        f"/admin/accounts/membership/{membership_of_a.pk}/change/",
        f"/admin/accounts/tenant/{tenant_a.pk}/change/",
        f"/admin/accounts/apikey/{key_of_a.pk}/history/",
        "/admin/accounts/apikey/999999/change/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "a-secret-key" not in response.content.decode()
    assert client.post(f"/admin/accounts/apikey/{key_of_a.pk}/delete/", {"post": "yes"}).status_code in (403, 404)
    assert ApiKey.objects.filter(pk=key_of_a.pk).exists()
    assert "alice" not in client.get("/admin/accounts/membership/").content.decode()
