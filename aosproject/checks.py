"""Configuration mistakes reported as Django system checks, with a clear message each."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from accounts.checks import boundary_problems
from runtime.checks import limits_problems
from runtime.skills.egress import AllowList
from vault.checks import secrets_key_problems


@register(Tags.security, deploy=False)
def check_configuration(app_configs, **kwargs):
    problems = []
    if not settings.DEBUG and not settings.SECRET_KEY_FROM_ENV:
        problems.append(
            Error(
                "SECRET_KEY is not set while DEBUG is off.",
                hint="Set SECRET_KEY to a long random value, e.g. from secrets.token_urlsafe(50).",
                id="aos.E001",
            )
        )
    if settings.DATABASE_URL and urlparse(settings.DATABASE_URL).scheme not in settings.DATABASE_SCHEMES:
        problems.append(
            Error(
                f"DATABASE_URL has an unsupported scheme: {urlparse(settings.DATABASE_URL).scheme!r}.",
                hint="Use postgres://user:pass@host:5432/name (or leave it unset for SQLite).",
                id="aos.E002",
            )
        )
    if settings.REDIS_URL and urlparse(settings.REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
        problems.append(
            Error(
                "REDIS_URL must start with redis://, rediss:// or unix://.",
                hint="For example redis://127.0.0.1:6379/0, or leave it unset for the local-memory cache.",
                id="aos.E003",
            )
        )
    oidc_parts = {
        "OIDC_OP_JWKS_ENDPOINT": settings.OIDC_OP_JWKS_ENDPOINT,
        "OIDC_ISSUER": settings.OIDC_ISSUER,
        "OIDC_AUDIENCE": settings.OIDC_AUDIENCE,
    }
    if any(oidc_parts.values()) and not all(oidc_parts.values()):
        missing = ", ".join(k for k, v in oidc_parts.items() if not v)
        problems.append(
            Error(
                f"Bearer-token verification is half configured; missing {missing}.",
                hint="Set all of OIDC_OP_JWKS_ENDPOINT, OIDC_ISSUER and OIDC_AUDIENCE (or OIDC_RP_CLIENT_ID), or none.",
                id="aos.E004",
            )
        )
    if settings.INVALID_ENV:
        problems.append(
            Error(
                f"These variables must be numbers: {', '.join(settings.INVALID_ENV)}.",
                id="aos.E005",
            )
        )
    if settings.LOG_FORMAT_RAW not in settings.LOG_FORMATS:
        problems.append(
            Error(
                f"LOG_FORMAT must be json or text (it is {settings.LOG_FORMAT_RAW!r}); logging JSON meanwhile.",
                id="aos.E050",
            )
        )
    if settings.RETENTION_SCHEDULE is None:
        problems.append(
            Error(
                f"RETENTION_CRONTAB is not five valid cron fields: {settings.RETENTION_CRONTAB!r}.",
                hint='For example "17 3 * * *" (03:17 UTC daily); beat uses that default meanwhile.',
                id="aos.E051",
            )
        )
    if settings.ALERTMANAGER_TIMEOUT <= 0:
        problems.append(
            Error(
                f"ALERTMANAGER_TIMEOUT must be above 0 seconds (it is {settings.ALERTMANAGER_TIMEOUT}).",
                id="aos.E006",
            )
        )
    if settings.API_MAX_JSON_DEPTH < 2:
        problems.append(
            Error(
                f"API_MAX_JSON_DEPTH must be at least 2 (it is {settings.API_MAX_JSON_DEPTH}); plans are nested.",
                id="aos.E012",
            )
        )
    problems.extend(secrets_key_problems())  # aos.E013, aos.E014
    problems.extend(boundary_problems())  # aos.E020-E029, W020-W029
    if bad_hosts := AllowList.invalid_entries(settings.HTTP_CALL_ALLOWED_HOSTS):
        problems.append(
            Error(
                f"HTTP_CALL_ALLOWED_HOSTS has entries that are neither a host name nor an address/CIDR: "
                f"{', '.join(map(repr, bad_hosts))}.",
                hint="List bare names (hooks.internal), addresses (10.0.0.5, ::1) or CIDRs (10.0.0.0/8), "
                "comma-separated; no scheme, port or path.",
                id="aos.E040",
            )
        )
    problems.extend(limits_problems())  # aos.E030, aos.E031
    if settings.OIDC_SSO_ENABLED and not settings.OIDC_RP_CLIENT_SECRET:
        problems.append(Warning("OIDC SSO is on but OIDC_RP_CLIENT_SECRET is empty.", id="aos.W001"))
    if settings.GITHUB_TOKEN and not settings.GITHUB_REPO:
        problems.append(
            Warning(
                "GITHUB_TOKEN is set but GITHUB_REPO is not; only tenants with their own github_repo get issues.",
                id="aos.W002",
            )
        )
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set with DEBUG off: rate limits and idempotency claims are per process.",
                id="aos.W003",
            )
        )
    return problems
