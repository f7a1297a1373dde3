"""Browser SSO into the admin (mozilla-django-oidc, Keycloak-compatible).

The user is created on first login; memberships come from the token's claims: the tenant
claim (`OIDC_TENANT_CLAIM`) and the roles (realm, client and plain `roles`).
"""

from __future__ import annotations

from django.conf import settings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.auth import _roles_from_claims
from accounts.models import ROLE_RANK, Membership, Role, Tenant


def membership_role(claims: dict) -> str:
    known = [r for r in _roles_from_claims(claims) if r in ROLE_RANK]
    return max(known, key=lambda r: ROLE_RANK[Role(r)]) if known else Role.VIEWER.value


class TenantOIDCBackend(OIDCAuthenticationBackend):
    def get_userinfo(self, access_token, id_token, payload):
        # Keycloak puts roles and custom claims in the ID token; merge them with userinfo.
        userinfo = super().get_userinfo(access_token, id_token, payload)
        return {**(payload or {}), **(userinfo or {})}

    def verify_claims(self, claims) -> bool:
        tenant_slug = claims.get(settings.OIDC_TENANT_CLAIM)
        return bool(claims.get("sub")) and bool(tenant_slug) and Tenant.objects.filter(slug=tenant_slug).exists()

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(username=self._username(claims))

    def _username(self, claims) -> str:
        return f"oidc:{claims['sub']}"[:150]

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(
            username=self._username(claims), email=claims.get("email", ""), is_staff=True
        )
        self._sync_membership(user, claims)
        return user

    def update_user(self, user, claims):
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        self._sync_membership(user, claims)
        return user

    def _sync_membership(self, user, claims) -> None:
        tenant = Tenant.objects.get(slug=claims[settings.OIDC_TENANT_CLAIM])
        Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": membership_role(claims)})
