"""OpenAPI security schemes for our authentication classes (shown in /api/docs/ "Authorize")."""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key `aos_...` (also accepted as `Authorization: Bearer aos_...`).",
        }


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.JWTAuthentication"
    name = "BearerJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the OIDC provider, with the tenant claim and roles.",
        }


class SessionScheme(SpectacularSessionScheme):
    """drf-spectacular's session-cookie scheme (it matches only DRF's exact class, not our subclass)."""

    target_class = "accounts.auth.TenantSessionAuthentication"
    name = "AdminSession"
    priority = 0
