"""The one principal every credential resolves to (PRODUCT.md §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import ROLE_RANK, Role, Tenant, Tier


@dataclass(frozen=True)
class Principal:
    """Who is calling: set as `request.user` and `request.auth` by every API authentication class."""

    subject: str
    tenant: Tenant
    roles: frozenset[str]
    tier: str
    method: str  # "jwt" | "api_key" | "session"
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    user: Any = field(default=None, compare=False, repr=False)  # the Django user for sessions

    is_authenticated = True
    is_anonymous = False
    is_active = True

    @property
    def role(self) -> str | None:
        """The highest known role held (JWT role lists may contain unrelated entries)."""
        known = [r for r in self.roles if r in ROLE_RANK]
        return max(known, key=lambda r: ROLE_RANK[Role(r)]) if known else None

    def has_role(self, minimum: str) -> bool:
        role = self.role
        return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]

    @property
    def pk(self) -> str:  # lets DRF and django-ratelimit treat it like a user
        return self.subject

    def __str__(self) -> str:
        return f"{self.subject}@{self.tenant.slug}"


def effective_tier(tenant: Tenant, claimed: Any) -> str:
    """The token's `rate_limit_tier` claim when it names a valid tier, else the tenant's tier."""
    if isinstance(claimed, str) and claimed in Tier.values:
        return claimed
    return tenant.tier
