"""Role permission classes: viewer < developer < operator < admin, whatever the credential."""

from __future__ import annotations

import pytest

from accounts.models import Role
from accounts.principal import Principal
from tests.conftest import client_with_key

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.role_urls")]

ORDER = ["viewer", "developer", "operator", "admin"]


@pytest.mark.parametrize("held", ORDER)
@pytest.mark.parametrize("needed", ORDER)
def test_it_allows_a_role_and_everything_above_it(tenant_a, held, needed):
    response = client_with_key(tenant_a, held).get(f"/api/v1/_test/{needed}")
    if ORDER.index(held) >= ORDER.index(needed):
        assert response.status_code == 200
        assert response.json() == {"ok": True, "tenant": "tenant-a"}
    else:
        assert response.status_code == 403
        assert response.json() == {
            "error": "permission_denied",
            "message": f"This action needs the {needed} role or higher.",
        }


def test_it_applies_roles_to_session_users(client, bob, vic):
    client.force_login(bob)
    assert client.get("/api/v1/_test/developer").status_code == 200
    assert client.get("/api/v1/_test/operator").status_code == 403
    client.force_login(vic)
    assert client.get("/api/v1/_test/viewer").status_code == 200
    assert client.get("/api/v1/_test/developer").status_code == 403


def test_it_asks_anonymous_callers_to_authenticate_rather_than_forbidding(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/_test/viewer")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_it_ranks_roles_on_the_principal(tenant_a):
    def principal(*roles):
        return Principal(subject="s", tenant=tenant_a, roles=frozenset(roles), tier="pro", method="jwt")

    assert principal("operator").has_role("developer")
    assert not principal("developer").has_role("operator")
    assert principal("viewer", "admin", "offline_access").role == "admin"
    assert principal("offline_access").role is None
    assert not principal("offline_access").has_role(Role.VIEWER)
    assert not principal().has_role("viewer")
