"""Tenant invariants (PRODUCT.md §2): slug and repo formats, defaults, skill allow-list; key secrets."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import ApiKey, Membership, Role, Tenant
from accounts.services import api_key_create, tenant_create

pytestmark = pytest.mark.django_db


def test_it_gives_a_new_tenant_the_documented_defaults():
    tenant = tenant_create(slug="acme")
    assert (tenant.tier, tenant.retention_days, tenant.budget_cents, tenant.allowed_skills, tenant.github_repo) == (
        "free",
        30,
        1000,
        [],
        "",
    )


@pytest.mark.parametrize("repo", ["acme/agents", "acme-inc/agent.runtime", "a_b/c-d", "ACME/Other"])
def test_it_accepts_owner_name_repos_on_the_allow_list(repo, settings):
    settings.GITHUB_REPO_ALLOWLIST = ["acme", "acme-inc/agent.runtime", "a_b/c-d"]
    Tenant(slug="t", name="t", github_repo=repo).full_clean()


@pytest.mark.parametrize(
    ("allowlist", "platform_repo", "repo"),
    [
        ([], "", "someone-else/private-repo"),
        (["acme"], "platform/issues", "someone-else/private-repo"),
        (["acme/agents"], "", "acme/other"),
        (["acme"], "", "acme-evil/agents"),
    ],
)
def test_it_refuses_a_repo_outside_the_allow_list(allowlist, platform_repo, repo, settings):
    settings.GITHUB_REPO_ALLOWLIST = allowlist
    settings.GITHUB_REPO = platform_repo
    with pytest.raises(ValidationError) as error:
        Tenant(slug="t", name="t", github_repo=repo).full_clean()
    assert "GITHUB_REPO_ALLOWLIST" in str(error.value.message_dict["github_repo"])


def test_it_always_allows_the_platform_repo(settings):
    settings.GITHUB_REPO_ALLOWLIST = []
    settings.GITHUB_REPO = "platform/issues"
    Tenant(slug="t", name="t", github_repo="platform/issues").full_clean()


@pytest.mark.parametrize("repo", ["acme", "acme/agents/extra", "https://github.com/acme/agents", "acme/ agents"])
def test_it_refuses_other_repo_shapes(repo):
    with pytest.raises(ValidationError) as error:
        Tenant(slug="t", name="t", github_repo=repo).full_clean()
    assert "github_repo" in error.value.message_dict


def test_it_refuses_an_unknown_tier_in_the_service():
    with pytest.raises(ValueError, match="Unknown tier 'gold'"):
        tenant_create(slug="acme", tier="gold")


def test_it_allows_all_skills_when_the_list_is_empty():
    tenant = Tenant(slug="t", allowed_skills=[])
    assert tenant.skill_allowed("http_call")
    tenant.allowed_skills = ["json_transform"]
    assert tenant.skill_allowed("json_transform") and not tenant.skill_allowed("http_call")


def test_it_allows_one_membership_per_user_and_tenant(alice, tenant_a):
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=alice, tenant=tenant_a, role=Role.ADMIN)


def test_it_makes_distinct_unguessable_keys(tenant_a):
    raws = {api_key_create(tenant=tenant_a)[1] for _ in range(20)}
    assert len(raws) == 20
    assert ApiKey.objects.values("key_hash").distinct().count() == 20
    assert all(raw.startswith("aos_") and len(raw) >= 43 for raw in raws)


def test_it_refuses_an_unknown_role_in_the_service(tenant_a):
    with pytest.raises(ValueError, match="Unknown role 'root'"):
        api_key_create(tenant=tenant_a, role="root")


def test_it_lists_only_active_keys(tenant_a):
    kept, _ = api_key_create(tenant=tenant_a)
    gone, _ = api_key_create(tenant=tenant_a)
    gone.revoke()
    assert list(ApiKey.objects.active()) == [kept]


def test_it_lists_a_users_tenants(alice, carol, tenant_a, tenant_b, admin_user):
    assert list(Tenant.objects.for_user(alice)) == [tenant_a]
    assert list(Tenant.objects.for_user(admin_user)) == [tenant_a, tenant_b]
