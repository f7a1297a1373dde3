"""API authentication: bearer JWTs (verified locally against the IdP's JWKS), API keys, sessions.

All three produce a `Principal` as `request.user` / `request.auth`, so everything downstream
(permissions, tenant scoping, rate limits) sees one shape.
"""

from __future__ import annotations

import logging
import ssl
import threading
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import API_KEY_PREFIX, ApiKey, Membership, Role, Tenant, hash_api_key
from accounts.principal import Principal, effective_tier
from aosproject.errors import ApiError

logger = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="aos"'
LAST_USED_RESOLUTION = timedelta(minutes=1)

_jwks_clients: dict[tuple[str, int, int], jwt.PyJWKClient] = {}
_jwks_lock = threading.Lock()


def jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached client per JWKS URL (keys kept `OIDC_JWKS_CACHE_SECONDS`).

    An unknown `kid` makes the client refetch the key set once, at most once per
    `OIDC_JWKS_REFETCH_COOLDOWN_SECONDS`, so tokens with made-up kids cannot hammer the IdP
    (docs/decisions/0003).
    """
    lifespan = settings.OIDC_JWKS_CACHE_SECONDS
    cooldown = settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS
    with _jwks_lock:
        client = _jwks_clients.get((url, lifespan, cooldown))
        if client is None:
            client = jwt.PyJWKClient(
                url,
                cache_keys=False,
                lifespan=lifespan,
                timeout=settings.OIDC_TIMEOUT,
                cooldown_duration=cooldown,
                ssl_context=_ssl_context(),
            )
            _jwks_clients[(url, lifespan, cooldown)] = client
        return client


def _ssl_context() -> ssl.SSLContext | None:
    """Default verification; OIDC_VERIFY_SSL=0 (as for mozilla-django-oidc) accepts a self-signed IdP."""
    if settings.OIDC_VERIFY_SSL:
        return None
    return ssl._create_unverified_context()  # noqa: S323  (the operator opted out explicitly)


def reset_jwks_cache() -> None:
    with _jwks_lock:
        _jwks_clients.clear()


def _bearer(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class _AosAuthentication(authentication.BaseAuthentication):
    def authenticate_header(self, request) -> str:
        return WWW_AUTHENTICATE


class ApiKeyAuthentication(_AosAuthentication):
    """`Authorization: Bearer aos_...` or `X-API-Key: aos_...`."""

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw:
            bearer = _bearer(request)
            if not bearer or not bearer.startswith(API_KEY_PREFIX):
                return None
            raw = bearer
        key = (
            ApiKey.objects.select_related("tenant").filter(key_hash=hash_api_key(raw), revoked_at__isnull=True).first()
        )
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            # At most one write a minute per key, not one per request.
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        principal = Principal(
            subject=f"api_key:{key.prefix}",
            tenant=key.tenant,
            roles=frozenset({key.role}),
            tier=key.tenant.tier,
            method="api_key",
        )
        return principal, principal


def _roles_from_claims(claims: dict[str, Any]) -> frozenset[str]:
    roles: set[str] = set()
    realm = claims.get("realm_access")
    if isinstance(realm, dict) and isinstance(realm.get("roles"), list):
        roles.update(str(r) for r in realm["roles"])
    resource = claims.get("resource_access")
    client_id = settings.OIDC_RP_CLIENT_ID
    if isinstance(resource, dict) and client_id and isinstance(resource.get(client_id), dict):
        client_roles = resource[client_id].get("roles")
        if isinstance(client_roles, list):
            roles.update(str(r) for r in client_roles)
    if isinstance(claims.get("roles"), list):
        roles.update(str(r) for r in claims["roles"])
    return frozenset(roles)


def verify_jwt(token: str) -> dict[str, Any]:
    """Verifies signature, exp, iss and aud against the configured IdP; returns the claims."""
    if not settings.OIDC_OP_JWKS_ENDPOINT:
        raise exceptions.AuthenticationFailed("Bearer tokens are not accepted: no OIDC provider is configured.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed(f"Malformed bearer token: {exc}") from exc
    kid = header.get("kid")
    if not kid:
        raise exceptions.AuthenticationFailed("Bearer token has no 'kid' header.")
    try:
        signing_key = jwks_client(settings.OIDC_OP_JWKS_ENDPOINT).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        logger.warning("JWKS endpoint unreachable: %s", exc)
        raise ApiError("identity_provider_unavailable", "Could not fetch the identity provider's keys.", 503) from exc
    except jwt.PyJWKClientError as exc:
        raise exceptions.AuthenticationFailed("Bearer token signed by an unknown key.") from exc
    options: jwt.types.Options = {"require": ["exp", "iss", "aud"]}
    try:
        return jwt.decode(
            token,
            key=signing_key.key,
            algorithms=settings.OIDC_JWT_ALGORITHMS,
            audience=settings.OIDC_AUDIENCE,
            issuer=settings.OIDC_ISSUER,
            leeway=settings.OIDC_LEEWAY_SECONDS,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("Bearer token has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise exceptions.AuthenticationFailed("Bearer token has the wrong audience.") from exc
    except jwt.InvalidIssuerError as exc:
        raise exceptions.AuthenticationFailed("Bearer token has the wrong issuer.") from exc
    except jwt.InvalidSignatureError as exc:
        raise exceptions.AuthenticationFailed("Bearer token signature is invalid.") from exc
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed(f"Invalid bearer token: {exc}") from exc


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    tenant_slug = claims.get(settings.OIDC_TENANT_CLAIM)
    if not isinstance(tenant_slug, str) or not tenant_slug:
        raise exceptions.PermissionDenied(f"Token has no '{settings.OIDC_TENANT_CLAIM}' claim naming a tenant.")
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        raise exceptions.PermissionDenied("Token names an unknown tenant.")
    return Principal(
        subject=str(claims.get("sub") or claims.get("preferred_username") or "unknown"),
        tenant=tenant,
        roles=_roles_from_claims(claims),
        tier=effective_tier(tenant, claims.get("rate_limit_tier")),
        method="jwt",
        claims=claims,
    )


class JWTAuthentication(_AosAuthentication):
    """`Authorization: Bearer <JWT>` from the OIDC provider."""

    def authenticate(self, request):
        token = _bearer(request)
        if not token or token.startswith(API_KEY_PREFIX):
            return None
        principal = principal_from_claims(verify_jwt(token))
        return principal, principal


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """Admin users' browser sessions, through their memberships (CSRF enforced as usual).

    A user in several tenants picks one with `X-AOS-Tenant: <slug>`; otherwise the first.
    Superusers are platform staff: any tenant, with the admin role.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        wanted = request.META.get("HTTP_X_AOS_TENANT", "").strip()
        if user.is_superuser:
            tenants = Tenant.objects.all()
            tenant = tenants.filter(slug=wanted).first() if wanted else tenants.first()
            if tenant is None:
                raise exceptions.PermissionDenied("No such tenant.")
            role = Role.ADMIN.value
        else:
            memberships = Membership.objects.select_related("tenant").filter(user=user)
            if wanted:
                memberships = memberships.filter(tenant__slug=wanted)
            membership = memberships.order_by("tenant__slug").first()
            if membership is None:
                if wanted:
                    raise exceptions.PermissionDenied(f"You are not a member of tenant {wanted!r}.")
                raise exceptions.PermissionDenied("You are not a member of any tenant.")
            tenant, role = membership.tenant, membership.role
        principal = Principal(
            subject=f"user:{user.get_username()}",
            tenant=tenant,
            roles=frozenset({role}),
            tier=tenant.tier,
            method="session",
            user=user,
        )
        return principal, principal

    def authenticate_header(self, request) -> str:
        return WWW_AUTHENTICATE
