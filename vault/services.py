"""Secret store workflows (PRODUCT.md §13): write-only values, names and timestamps readable."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Tenant
from aosproject.errors import ApiError
from vault import crypto
from vault.models import Secret
from vault.references import ERR_SECRET_NOT_FOUND, ERR_SECRET_UNREADABLE, SecretError, name_problem

MIN_VALUE_CHARS = 4  # shorter values would mask unrelated text in every output


def _invalid(field: str, message: str) -> ApiError:
    return ApiError("validation_error", f"{field}: {message}", 400, fields={field: [message]})


def _unavailable(exc: crypto.SecretsUnavailable) -> ApiError:
    return ApiError("secrets_unavailable", str(exc), 503)


def secret_name_check(name: str) -> None:
    problem = name_problem(name)
    if problem:
        raise _invalid("name", problem)


def secret_value_check(value: object) -> str:
    if not isinstance(value, str):
        raise _invalid("value", "The value must be a string.")
    if len(value) < MIN_VALUE_CHARS:
        raise _invalid("value", f"The value must have at least {MIN_VALUE_CHARS} characters.")
    limit = settings.AOS_SECRET_MAX_BYTES
    if len(value.encode()) > limit:
        raise _invalid("value", f"The value may have at most {limit} bytes (AOS_SECRET_MAX_BYTES).")
    return value


def secret_put(*, tenant: Tenant, name: str, value: object) -> tuple[Secret, bool]:
    """Creates or replaces a secret; returns (secret, created). The value is stored encrypted only."""
    secret_name_check(name)
    clear = secret_value_check(value)
    try:
        token = crypto.encrypt(clear)
    except crypto.SecretsUnavailable as exc:
        raise _unavailable(exc)
    with transaction.atomic():
        updated = (
            Secret.objects.for_tenant(tenant).filter(name=name).update(value_encrypted=token, updated_at=timezone.now())
        )
        if updated:
            return Secret.objects.for_tenant(tenant).get(name=name), False
        try:
            with transaction.atomic():  # savepoint: a concurrent first PUT of the same name wins cleanly
                return Secret.objects.create(tenant=tenant, name=name, value_encrypted=token), True
        except IntegrityError:
            Secret.objects.for_tenant(tenant).filter(name=name).update(value_encrypted=token, updated_at=timezone.now())
            return Secret.objects.for_tenant(tenant).get(name=name), False


def secret_list(*, tenant: Tenant) -> QuerySet[Secret]:
    return Secret.objects.for_tenant(tenant).order_by("name")


def secret_get(*, tenant: Tenant, name: str) -> Secret:
    """Another tenant's secret does not exist (404)."""
    secret = Secret.objects.for_tenant(tenant).filter(name=name).first()
    if secret is None:
        raise ApiError("not_found", f"No secret {name!r}.", 404)
    return secret


def secret_delete(*, tenant: Tenant, name: str) -> None:
    deleted, _ = Secret.objects.for_tenant(tenant).filter(name=name).delete()
    if not deleted:
        raise ApiError("not_found", f"No secret {name!r}.", 404)


def secret_names_missing(*, tenant: Tenant, names: set[str]) -> set[str]:
    """The names among `names` the tenant has no secret for."""
    if not names:
        return set()
    found = set(Secret.objects.for_tenant(tenant).filter(name__in=names).values_list("name", flat=True))
    return names - found


def secret_reveal(*, tenant: Tenant, name: str) -> str:
    """The clear value, for the engine only (marks the secret used). Raises SecretError."""
    secret = Secret.objects.for_tenant(tenant).filter(name=name).only("pk", "value_encrypted").first()
    if secret is None:
        raise SecretError(ERR_SECRET_NOT_FOUND, f"Secret {name!r} is not set for tenant {tenant.slug}.", name)
    try:
        value = crypto.decrypt(secret.value_encrypted)
    except crypto.SecretUnreadable:
        message = f"Secret {name!r} cannot be decrypted with the keys in AOS_SECRETS_KEYS (was its key removed?)."
        raise SecretError(ERR_SECRET_UNREADABLE, message, name)
    except crypto.SecretsUnavailable as exc:
        raise SecretError(ERR_SECRET_UNREADABLE, f"Secret {name!r} cannot be read: {exc}", name)
    Secret.objects.filter(pk=secret.pk).update(last_used_at=timezone.now())
    return value


def secrets_rotate() -> tuple[int, list[str]]:
    """Re-encrypts every secret with the first key; returns (rotated, unreadable `tenant/NAME`s)."""
    rotated, unreadable = 0, []
    for secret in Secret.objects.select_related("tenant").order_by("pk").iterator():
        try:
            token = crypto.reencrypt(secret.value_encrypted)
        except crypto.SecretUnreadable:
            unreadable.append(f"{secret.tenant.slug}/{secret.name}")
            continue
        Secret.objects.filter(pk=secret.pk).update(value_encrypted=token)
        rotated += 1
    return rotated, unreadable
