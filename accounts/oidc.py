"""Browser SSO into the admin (mozilla-django-oidc, Keycloak-compatible).

The user is created on first login; memberships come from the token's claims: the tenant
claim (`OIDC_TENANT_CLAIM`) and the roles (realm, client and plain `roles`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.auth import _roles_from_claims, jwks_client
from accounts.models import ROLE_RANK, Membership, Role, Tenant


def membership_role(claims: dict) -> str:
    known = [r for r in _roles_from_claims(claims) if r in ROLE_RANK]
    return max(known, key=lambda r: ROLE_RANK[Role(r)]) if known else Role.VIEWER.value


class TenantOIDCBackend(OIDCAuthenticationBackend):
    def retrieve_matching_jwk(self, token):
        """The ID token's key from the same cached JWKS client as bearer tokens.

        Some providers leave `kid` out of the ID token when they have one key; mozilla-django-oidc
        would fail with KeyError, we use the only signing key then.
        """
        client = jwks_client(self.OIDC_OP_JWKS_ENDPOINT)
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if kid:
                return client.signing_key(kid)
            keys = client.signing_keys()
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"No usable key for the ID token: {exc}") from exc
        if len(keys) != 1:
            raise SuspiciousOperation("The ID token has no 'kid' and the provider publishes several keys.")
        return keys[0]

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


def provider_logout_url(request) -> str:
    """Where admin logout sends an SSO user: the provider's end-session endpoint (RP-initiated logout).

    Users who signed in with a password, or deployments without `OIDC_OP_LOGOUT_ENDPOINT`, just
    land on the login page.
    """
    local = request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not settings.OIDC_OP_LOGOUT_ENDPOINT or not id_token:
        return settings.LOGOUT_REDIRECT_URL
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": local})
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"


def sso_only(view):
    """The /oidc/ views answer 404 unless browser SSO is configured (no half-built redirects)."""

    def wrapped(request, *args, **kwargs):
        if not settings.OIDC_SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return view(request, *args, **kwargs)

    return wrapped
