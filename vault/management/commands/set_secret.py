"""`manage.py set_secret --tenant T NAME`: the value comes from standard input, never an argument."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from aosproject.errors import ApiError
from vault.services import secret_put


class Command(BaseCommand):
    help = "Create or replace a tenant secret; the value is read from standard input (a prompt on a terminal)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("name")

    def handle(self, *args, tenant, name, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        if sys.stdin.isatty():
            value = getpass.getpass(f"Value of {name}: ")
        else:
            value = sys.stdin.read()
            value = value[:-1] if value.endswith("\n") else value  # `echo` and here-strings add one newline
            value = value[:-1] if value.endswith("\r") else value
        try:
            secret, created = secret_put(tenant=tenant_obj, name=name, value=value)
        except ApiError as exc:
            raise CommandError(exc.message)
        self.stdout.write(f"set_secret: {'created' if created else 'replaced'} {secret.name} for tenant {tenant}")
