"""`manage.py rotate_secrets`: re-encrypts every secret with the first key of AOS_SECRETS_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from aosproject.plurals import counted
from vault.crypto import SecretsUnavailable
from vault.services import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of AOS_SECRETS_KEYS (then the old keys can go)."

    def handle(self, *args, **options):
        try:
            rotated, unreadable = secrets_rotate()
        except SecretsUnavailable as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"rotate_secrets: re-encrypted {counted(rotated, 'secret')} with the first key")
        if unreadable:
            raise CommandError(
                f"{counted(len(unreadable), 'secret')} cannot be decrypted with any key in AOS_SECRETS_KEYS: "
                + ", ".join(unreadable)
            )
