"""Shared cast: tenant A (alice operator, bob developer, vic viewer), tenant B (carol).

Across both: dana is admin of A and viewer of B, otto operator of A and viewer of B (the admin's
tenant boundary: a role in one tenant must never count in another).
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import principal_cache
from accounts.auth import reset_jwks_cache
from accounts.models import Membership, Role, Tenant
from accounts.services import api_key_create


@pytest.fixture(autouse=True)
def _clean_state(settings, tmp_path):
    """Every test starts with an empty cache, eager Celery, fresh JWKS clients, no cached principals."""
    from aosproject.celery import app
    from runtime.admission import admission_reset

    # seed_demo keeps the demo key in a file; never the developer's own `.demo-key`.
    settings.DEMO_KEY_FILE = str(tmp_path / ".demo-key")

    # Hashing each cast member's password with PBKDF2 costs ~0.2 s; tests do not measure it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    cache.clear()
    admission_reset()
    reset_jwks_cache()
    principal_cache.reset()
    yield
    with contextlib.suppress(Exception):  # a test may have pointed the cache at a dead Redis
        cache.clear()


@pytest.fixture
def tenant_a(db):
    return Tenant.objects.create(slug="tenant-a", name="Tenant A", tier="pro")


@pytest.fixture
def tenant_b(db):
    return Tenant.objects.create(slug="tenant-b", name="Tenant B", tier="pro")


def _member(django_user_model, username, tenant, role):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, is_staff=True)
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def alice(django_user_model, tenant_a):
    return _member(django_user_model, "alice", tenant_a, Role.OPERATOR)


@pytest.fixture
def bob(django_user_model, tenant_a):
    return _member(django_user_model, "bob", tenant_a, Role.DEVELOPER)


@pytest.fixture
def vic(django_user_model, tenant_a):
    return _member(django_user_model, "vic", tenant_a, Role.VIEWER)


@pytest.fixture
def dana(django_user_model, tenant_a, tenant_b):
    user = _member(django_user_model, "dana", tenant_a, Role.ADMIN)
    Membership.objects.create(user=user, tenant=tenant_b, role=Role.VIEWER)
    return user


@pytest.fixture
def otto(django_user_model, tenant_a, tenant_b):
    user = _member(django_user_model, "otto", tenant_a, Role.OPERATOR)
    Membership.objects.create(user=user, tenant=tenant_b, role=Role.VIEWER)
    return user


@pytest.fixture
def carol(django_user_model, tenant_b):
    return _member(django_user_model, "carol", tenant_b, Role.OPERATOR)


def client_with_key(tenant, role) -> APIClient:
    _, raw = api_key_create(tenant=tenant, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw  # type: ignore[attr-defined]
    return client


@pytest.fixture
def api_a(tenant_a) -> APIClient:
    """Tenant A, operator role (API key)."""
    return client_with_key(tenant_a, Role.OPERATOR)


@pytest.fixture
def api_a_dev(tenant_a) -> APIClient:
    return client_with_key(tenant_a, Role.DEVELOPER)


@pytest.fixture
def api_a_viewer(tenant_a) -> APIClient:
    return client_with_key(tenant_a, Role.VIEWER)


@pytest.fixture
def api_b(tenant_b) -> APIClient:
    """Tenant B, operator role (API key)."""
    return client_with_key(tenant_b, Role.OPERATOR)
