"""Provisioning without the admin: create_tenant, create_api_key, seed_demo."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership, Tenant, hash_api_key
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_creates_a_tenant_with_name_and_tier():
    out, _ = run("create_tenant", "acme", "--name", "Acme Corp", "--tier", "enterprise")
    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.name, tenant.tier, tenant.retention_days, tenant.budget_cents) == (
        "Acme Corp",
        "enterprise",
        30,
        1000,
    )
    assert out.strip() == "Created tenant acme (tier enterprise)."


def test_it_defaults_the_name_to_the_slug_and_the_tier_to_free():
    run("create_tenant", "tiny")
    tenant = Tenant.objects.get(slug="tiny")
    assert (tenant.name, tenant.tier) == ("tiny", "free")


def test_it_refuses_a_duplicate_tenant(tenant_a):
    with pytest.raises(CommandError, match="Tenant 'tenant-a' already exists"):
        run("create_tenant", "tenant-a")
    assert Tenant.objects.count() == 1


@pytest.mark.parametrize("slug", ["Bad_Slug", "-leading-dash", "has space", "x" * 64])
def test_it_refuses_a_bad_slug(slug):
    with pytest.raises(CommandError, match="slug"):
        run("create_tenant", slug)
    assert not Tenant.objects.exists()


def test_it_refuses_an_unknown_tier():
    with pytest.raises(CommandError, match="invalid choice: 'gold'"):
        run("create_tenant", "acme", "--tier", "gold")
    assert not Tenant.objects.exists()


def test_it_prints_the_new_key_alone_on_the_last_line(tenant_a):
    out, err = run("create_api_key", "--tenant", "tenant-a", "--role", "developer", "--name", "ci")
    lines = out.strip().splitlines()
    raw = lines[-1]
    assert re.fullmatch(r"aos_[A-Za-z0-9_-]{40,}", raw)
    key = ApiKey.objects.get(key_hash=hash_api_key(raw))
    assert (key.tenant, key.role, key.name) == (tenant_a, "developer", "ci")
    assert "tenant-a" in err and raw not in err
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=raw).json()["role"] == "developer"


def test_it_refuses_a_key_for_an_unknown_tenant():
    with pytest.raises(CommandError, match="No tenant 'ghost'. Create it with: manage.py create_tenant ghost"):
        run("create_api_key", "--tenant", "ghost", "--role", "viewer")
    assert not ApiKey.objects.exists()


def test_it_refuses_an_unknown_role(tenant_a):
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        run("create_api_key", "--tenant", "tenant-a", "--role", "root")


def demo_key(out: str) -> str:
    return re.search(r"API key:\s+(aos_\S+)", out).group(1)


def test_it_seeds_the_demo_and_prints_the_login_and_a_working_key():
    out, _ = run("seed_demo", "--username", "demo-admin", "--password", "s3cret-pw")
    assert "login:    demo-admin / s3cret-pw" in out
    assert "http://127.0.0.1:8000/admin/" in out and "/api/docs/" in out
    user = get_user_model().objects.get(username="demo-admin")
    assert user.is_superuser and user.is_staff and user.check_password("s3cret-pw")
    tenant = Tenant.objects.get(slug="demo")
    assert Membership.objects.get(user=user).tenant == tenant
    me = APIClient().get("/api/v1/me", HTTP_X_API_KEY=demo_key(out)).json()
    assert (me["tenant"], me["role"]) == ("demo", "operator")


def test_it_prints_links_for_the_given_address():
    out, _ = run("seed_demo", "--base-url", "http://127.0.0.1:8123/")
    assert "admin:    http://127.0.0.1:8123/admin/" in out
    assert "API docs: http://127.0.0.1:8123/api/docs/" in out


def test_it_seeds_idempotently_and_keeps_the_demo_key(settings):
    first, _ = run("seed_demo")
    second, _ = run("seed_demo")
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert Membership.objects.count() == 1
    assert "login:    admin / admin" in second  # still the default: shown again
    # A second `make run` must not cut off the clients of the first: the same key, still valid.
    assert demo_key(first) == demo_key(second)
    assert "unchanged, kept in" in second and "(new;" in first
    assert ApiKey.objects.active().filter(tenant__slug="demo").count() == 1
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=demo_key(second)).status_code == 200
    assert oct(os.stat(settings.DEMO_KEY_FILE).st_mode & 0o777) == "0o600"


def test_it_rotates_the_demo_key_only_when_asked():
    old = demo_key(run("seed_demo")[0])
    new = demo_key(run("seed_demo", "--new-key")[0])
    assert old != new
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=old).status_code == 401
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=new).status_code == 200
    assert demo_key(run("seed_demo")[0]) == new


def test_it_adds_a_key_without_revoking_when_the_kept_one_is_gone_or_foreign(settings, tenant_a):
    old = demo_key(run("seed_demo")[0])
    Path(settings.DEMO_KEY_FILE).unlink()
    fresh = demo_key(run("seed_demo")[0])
    assert fresh != old
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=old).status_code == 200  # not revoked
    # A file naming another tenant's key (or garbage) is never printed as the demo key.
    _, foreign = api_key_create(tenant=tenant_a, name="not the demo")
    Path(settings.DEMO_KEY_FILE).write_text(foreign)
    printed = demo_key(run("seed_demo")[0])
    assert printed not in {foreign, fresh}
    assert APIClient().get("/api/v1/me", HTTP_X_API_KEY=printed).json()["tenant"] == "demo"


def test_it_frames_the_banner():
    out, _ = run("seed_demo")
    lines = out.strip().splitlines()
    assert lines[0].startswith("+--") and lines[-1] == lines[0]
    assert all(line.startswith("| ") and line.endswith(" |") and len(line) == len(lines[0]) for line in lines[1:-1])


def test_it_never_resets_or_shows_a_changed_admin_password():
    run("seed_demo")
    user = get_user_model().objects.get(username="admin")
    user.set_password("my-own-secret")
    user.save()
    again, _ = run("seed_demo")
    assert "login:    admin / (changed; not shown)" in again
    user.refresh_from_db()
    assert user.check_password("my-own-secret")
