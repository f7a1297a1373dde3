"""Tenants, memberships and API keys (PRODUCT.md §2)."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class Tier(models.TextChoices):
    FREE = "free"
    DEV = "dev"
    PRO = "pro"
    ENTERPRISE = "enterprise"
    UNLIMITED = "unlimited"


class Role(models.TextChoices):
    VIEWER = "viewer"
    DEVELOPER = "developer"
    OPERATOR = "operator"
    ADMIN = "admin"


ROLE_RANK = {Role.VIEWER: 1, Role.DEVELOPER: 2, Role.OPERATOR: 3, Role.ADMIN: 4}

slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,62}$", "Lower-case letters, digits and dashes.")
REPO_REGEX = r"^[\w.-]+/[\w.-]+$"
REPO_PATTERN = re.compile(REPO_REGEX)
repo_validator = RegexValidator(REPO_REGEX, "Use owner/name.")


def github_repo_allowed(repo: str) -> bool:
    """Whether the platform's GITHUB_TOKEN may be pointed at `repo` (GITHUB_REPO_ALLOWLIST).

    Entries are `owner` (any repository of that owner) or `owner/name`, compared case-insensitively
    as GitHub does. The platform's own GITHUB_REPO is always allowed.
    """
    wanted = repo.strip().lower()
    owner = wanted.partition("/")[0]
    allowed = {entry.lower() for entry in settings.GITHUB_REPO_ALLOWLIST}
    return wanted == settings.GITHUB_REPO.strip().lower() or wanted in allowed or owner in allowed


class TenantQuerySet(models.QuerySet):
    def for_user(self, user) -> TenantQuerySet:
        if user.is_superuser:
            return self
        return self.filter(memberships__user=user).distinct()


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    retention_days = models.PositiveIntegerField(default=30)
    budget_cents = models.PositiveIntegerField(default=1000)
    allowed_skills = models.JSONField(default=list, blank=True, help_text="Skill ids; empty = all skills.")
    github_repo = models.CharField(max_length=200, blank=True, validators=[repo_validator])
    max_concurrent = models.PositiveIntegerField(
        null=True, blank=True, help_text="Runs in flight at once; empty = AOS_MAX_CONCURRENT_RUNS."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        # The platform's token writes issues there: a tenant must not aim it at any repository.
        repo = self.github_repo
        if repo and REPO_PATTERN.match(repo) and not github_repo_allowed(repo):
            raise ValidationError(
                {"github_repo": "This repository is not in GITHUB_REPO_ALLOWLIST; ask the platform team to add it."}
            )

    def skill_allowed(self, skill_id: str) -> bool:
        return not self.allowed_skills or skill_id in self.allowed_skills


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_user_tenant_unique")]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


API_KEY_PREFIX = "aos_"


def hash_api_key(raw_key: str) -> str:
    # API keys carry 256 bits of entropy, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)
    prefix = models.CharField(max_length=16, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.tenant}, {self.role})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def set_new_secret(self) -> str:
        """Generates the secret, stores only its hash, returns the raw key (shown once)."""
        raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix = raw[:12]
        self.key_hash = hash_api_key(raw)
        return raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
