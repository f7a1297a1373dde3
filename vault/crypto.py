"""Encryption at rest for secret values: `cryptography`'s MultiFernet over AOS_SECRETS_KEYS.

Encrypts with the first key and decrypts with any, so a key is rotated by putting the new one
first, running `manage.py rotate_secrets`, then dropping the old one. Without AOS_SECRETS_KEYS
and with DEBUG on (the embedded default) a development key is derived from SECRET_KEY, with a
warning in the log; with DEBUG off that is a system-check error (aos.E013) instead.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

logger = logging.getLogger(__name__)


class SecretsUnavailable(Exception):
    """The keys are missing or malformed: nothing can be encrypted or decrypted."""


class SecretUnreadable(Exception):
    """A stored value was encrypted with a key that is no longer in AOS_SECRETS_KEYS."""


def dev_key(secret_key: str) -> str:
    """The development key: a Fernet key derived from SECRET_KEY (embedded default only)."""
    digest = hashlib.sha256(b"aos-secrets-dev-key:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def key_problems(keys: list[str]) -> list[str]:
    """Why each malformed key cannot be used (position, never the key itself)."""
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(f"key #{position} is not a Fernet key (32 url-safe base64-encoded bytes)")
    return problems


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], dev_allowed: bool, secret_key: str) -> MultiFernet:
    if not keys:
        if not dev_allowed:
            raise SecretsUnavailable("AOS_SECRETS_KEYS is not set; secrets cannot be stored or read.")
        logger.warning(
            "AOS_SECRETS_KEYS is not set: secrets are encrypted with a development key derived from SECRET_KEY. "
            "Set AOS_SECRETS_KEYS in production."
        )
        keys = (dev_key(secret_key),)
    problems = key_problems(list(keys))
    if problems:
        raise SecretsUnavailable("AOS_SECRETS_KEYS is malformed: " + "; ".join(problems) + ".")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.AOS_SECRETS_KEYS), bool(settings.AOS_SECRETS_DEV_KEY), settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("encrypted with a key that is not in AOS_SECRETS_KEYS")


def reencrypt(token: str) -> str:
    """The same value under the first key (rotation)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("encrypted with a key that is not in AOS_SECRETS_KEYS")
