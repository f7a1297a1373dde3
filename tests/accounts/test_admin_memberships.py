"""Memberships in the admin: superusers pick any user; tenant admins name a user for their tenant."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client, django_user_model, tenant_a):
    """Admin of tenant A (not a superuser), logged in."""
    user = django_user_model.objects.create_user(username="ada", password="pw-ada", is_staff=True)
    Membership.objects.create(user=user, tenant=tenant_a, role=Role.ADMIN)
    client.force_login(user)
    return user


def add(client, **data):
    return client.post("/admin/accounts/membership/add/", data)


def test_it_lets_a_tenant_admin_add_a_member_by_username(client, ada, django_user_model, tenant_a):
    dave = django_user_model.objects.create_user(username="dave", is_staff=True)
    page = client.get("/admin/accounts/membership/add/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()

    response = add(client, username="dave", tenant=tenant_a.pk, role="developer")

    assert response.status_code == 302
    assert Membership.objects.get(user=dave).role == "developer"


def test_it_reports_unknown_users_and_duplicates(client, ada, tenant_a, alice):
    unknown = add(client, username="nobody", tenant=tenant_a.pk, role="viewer")
    assert "No user with this username." in unknown.content.decode()
    duplicate = add(client, username="alice", tenant=tenant_a.pk, role="viewer")
    assert "alice is already a member of tenant-a." in duplicate.content.decode()
    assert Membership.objects.filter(user=alice).count() == 1


def test_it_keeps_a_tenant_admin_out_of_other_tenants(client, ada, django_user_model, tenant_b):
    django_user_model.objects.create_user(username="eve", is_staff=True)
    add(client, username="eve", tenant=tenant_b.pk, role="admin")
    assert not Membership.objects.filter(tenant=tenant_b).exists()


def test_it_lets_a_tenant_admin_change_a_role(client, ada, bob):
    membership = bob.memberships.get()
    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"username": "bob", "tenant": membership.tenant_id, "role": "operator"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.user, membership.role) == (bob, "operator")


def test_it_gives_superusers_the_user_autocomplete(admin_client, tenant_a, alice):
    page = admin_client.get("/admin/accounts/membership/add/").content.decode()
    assert 'name="user"' in page and "admin-autocomplete" in page
    found = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": "ali"},
    )
    assert [r["text"] for r in found.json()["results"]] == ["alice"]


def test_it_keeps_operators_from_managing_memberships(client, alice):
    client.force_login(alice)
    assert client.get("/admin/accounts/membership/add/").status_code == 403
