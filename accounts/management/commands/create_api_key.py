from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, Tenant
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key alone is printed on the last line (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="")

    def handle(self, *args, tenant, role, name, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}. Create it with: manage.py create_tenant {tenant}")
        key, raw = api_key_create(tenant=tenant_obj, role=role, name=name)
        self.stderr.write(f"API key {key.prefix}… for tenant {tenant_obj.slug}, role {role}. Store it now:")
        self.stdout.write(raw)
