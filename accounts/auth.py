"""API authentication: bearer JWTs (verified locally against the IdP's JWKS), API keys, sessions.

All three produce a `Principal` as `request.user` / `request.auth`, so everything downstream
(permissions, tenant scoping, rate limits) sees one shape.
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any

import jwt
from django.conf import settings
from rest_framework import authentication, exceptions

from accounts.jwks import JwksKeySet
from accounts.models import API_KEY_PREFIX, Membership, Role, Tenant
from accounts.principal import Principal, effective_tier
from accounts.principal_cache import api_key_principal, tenant_by_slug
from aosproject.errors import ApiError

logger = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="aos"'

# Longer than any real OIDC access token (Keycloak's with many roles stay well under 8 KiB);
# refused before any base64 or JSON work is spent on it.
MAX_TOKEN_LENGTH = 16 * 1024
# The JWS algorithms each key type can verify; a header naming another is refused before decoding
# (PyJWT raises TypeError when an RSA key meets ES256 or an EC key meets RS256: finding 7).
_ALGORITHMS_BY_KEY_TYPE = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}

_jwks_sets: dict[tuple, JwksKeySet] = {}
_jwks_lock = threading.Lock()


def jwks_client(url: str) -> JwksKeySet:
    """One key set per JWKS URL and settings (docs/decisions/0003): cached `OIDC_JWKS_CACHE_SECONDS`,
    an unknown `kid` refetches at most every `OIDC_JWKS_REFETCH_COOLDOWN_SECONDS`, a failed fetch is
    not retried for `OIDC_JWKS_FAILURE_COOLDOWN_SECONDS`, one fetch at a time."""
    config = (
        url,
        settings.OIDC_JWKS_CACHE_SECONDS,
        settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS,
        settings.OIDC_JWKS_FAILURE_COOLDOWN_SECONDS,
        settings.OIDC_TIMEOUT,
        settings.OIDC_VERIFY_SSL,
    )
    with _jwks_lock:
        keys = _jwks_sets.get(config)
        if keys is None:
            keys = JwksKeySet(
                url,
                lifespan=settings.OIDC_JWKS_CACHE_SECONDS,
                refetch_cooldown=settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS,
                failure_cooldown=settings.OIDC_JWKS_FAILURE_COOLDOWN_SECONDS,
                timeout=settings.OIDC_TIMEOUT,
                ssl_context=_ssl_context(),
            )
            _jwks_sets[config] = keys
        return keys


def _ssl_context() -> ssl.SSLContext | None:
    """Default verification; OIDC_VERIFY_SSL=0 (as for mozilla-django-oidc) accepts a self-signed IdP."""
    if settings.OIDC_VERIFY_SSL:
        return None
    return ssl._create_unverified_context()  # noqa: S323  (the operator opted out explicitly)


def reset_jwks_cache() -> None:
    with _jwks_lock:
        _jwks_sets.clear()


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
        principal = api_key_principal(raw)  # in-process, invalidated on change (accounts/principal_cache.py)
        if principal is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
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


def _unauthenticated(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message)


def _token_header(token: str) -> tuple[str, str]:
    """(alg, kid) of a well-formed header naming an accepted algorithm; 401 for anything else."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise _unauthenticated(f"Bearer token is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise _unauthenticated(f"Malformed bearer token: {exc}") from exc
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in settings.OIDC_JWT_ALGORITHMS:
        raise _unauthenticated("Bearer token algorithm is not accepted.")
    if not isinstance(kid, str) or not kid:
        raise _unauthenticated("Bearer token has no 'kid' header.")
    return alg, kid


def _check_key_fits(signing_key: jwt.PyJWK, alg: str) -> None:
    # The JWK's own `alg` when it names one (Keycloak's do); PyJWK keeps the JWK's members here.
    declared = getattr(signing_key, "_jwk_data", {}).get("alg")
    families = _ALGORITHMS_BY_KEY_TYPE.get(signing_key.key_type or "", ())
    if (declared and declared != alg) or not alg.startswith(families):
        raise _unauthenticated("Bearer token algorithm does not match its key.")


def verify_jwt(token: str) -> dict[str, Any]:
    """Verifies signature, exp, iss and aud against the configured IdP; returns the claims.

    Every malformed, mis-keyed or unverifiable token is a 401 (never a 500); an IdP whose keys
    cannot be had is a 503.
    """
    if not settings.OIDC_OP_JWKS_ENDPOINT:
        raise _unauthenticated("Bearer tokens are not accepted: no OIDC provider is configured.")
    alg, kid = _token_header(token)
    try:
        signing_key = jwks_client(settings.OIDC_OP_JWKS_ENDPOINT).signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        raise ApiError("identity_provider_unavailable", "Could not fetch the identity provider's keys.", 503) from exc
    except jwt.PyJWTError as exc:
        raise _unauthenticated("Bearer token signed by an unknown key.") from exc
    _check_key_fits(signing_key, alg)
    options: jwt.types.Options = {"require": ["exp", "iss", "aud"]}
    try:
        return jwt.decode(
            token,
            key=signing_key.key,
            algorithms=[alg],
            audience=settings.OIDC_AUDIENCE,
            issuer=settings.OIDC_ISSUER,
            leeway=settings.OIDC_LEEWAY_SECONDS,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthenticated("Bearer token has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise _unauthenticated("Bearer token has the wrong audience.") from exc
    except jwt.InvalidIssuerError as exc:
        raise _unauthenticated("Bearer token has the wrong issuer.") from exc
    except jwt.InvalidSignatureError as exc:
        raise _unauthenticated("Bearer token signature is invalid.") from exc
    except jwt.PyJWTError as exc:
        raise _unauthenticated(f"Invalid bearer token: {exc}") from exc
    except (TypeError, ValueError, KeyError) as exc:  # a key/algorithm pairing PyJWT does not guard
        raise _unauthenticated("Invalid bearer token.") from exc


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    tenant_slug = claims.get(settings.OIDC_TENANT_CLAIM)
    if not isinstance(tenant_slug, str) or not tenant_slug:
        raise exceptions.PermissionDenied(f"Token has no '{settings.OIDC_TENANT_CLAIM}' claim naming a tenant.")
    tenant = tenant_by_slug(tenant_slug)
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
