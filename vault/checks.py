"""Configuration mistakes of the secret store, as system-check messages (called by aosproject/checks.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error

from vault.crypto import key_problems


def secrets_key_problems() -> list[CheckMessage]:
    keys = list(settings.AOS_SECRETS_KEYS)
    if not keys and not settings.DEBUG:
        return [
            Error(
                "AOS_SECRETS_KEYS is not set while DEBUG is off: tenant secrets cannot be encrypted.",
                hint="Set AOS_SECRETS_KEYS to one or more Fernet keys, comma-separated (new key first), e.g. from "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'.",
                id="aos.E013",
            )
        ]
    problems = key_problems(keys)
    if problems:
        return [
            Error(
                "AOS_SECRETS_KEYS is malformed: " + "; ".join(problems) + ".",
                hint="Each key is 32 url-safe base64-encoded bytes (Fernet.generate_key()).",
                id="aos.E014",
            )
        ]
    return []
