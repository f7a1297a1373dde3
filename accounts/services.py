"""Provisioning workflows shared by management commands, the demo seed and tests."""

from __future__ import annotations

from accounts.models import ApiKey, Role, Tenant, Tier


def tenant_create(*, slug: str, name: str = "", tier: str = Tier.FREE) -> Tenant:
    if tier not in Tier.values:
        raise ValueError(f"Unknown tier {tier!r}; choose from {', '.join(Tier.values)}.")
    tenant = Tenant(slug=slug, name=name or slug, tier=tier)
    tenant.full_clean()
    tenant.save()
    return tenant


def api_key_create(*, tenant: Tenant, role: str = Role.DEVELOPER, name: str = "") -> tuple[ApiKey, str]:
    """Returns the stored key and its raw secret (only ever available here)."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; choose from {', '.join(Role.values)}.")
    key = ApiKey(tenant=tenant, role=role, name=name)
    raw = key.set_new_secret()
    key.save()
    return key, raw
