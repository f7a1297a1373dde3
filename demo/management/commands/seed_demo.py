"""Seeds the demo tenant, an admin login and an API key for `make run` (safe to re-run)."""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.demo_key import demo_key_keep_or_create
from accounts.models import Membership, Role, Tenant
from demo.sample import seed_sample_data


class Command(BaseCommand):
    help = "Create or refresh the demo tenant, admin user, API key and sample data; print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USERNAME", "admin"))
        parser.add_argument("--password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin"))
        parser.add_argument(
            "--base-url", default=settings.AOS_BASE_URL, help="Where the server listens (for the links)."
        )
        parser.add_argument(
            "--new-key", action="store_true", help="Revoke the kept demo key and print a new one (make run NEW_KEY=1)."
        )
        parser.add_argument("--key-file", default=settings.DEMO_KEY_FILE, help="Where the raw demo key is kept (0600).")

    def handle(self, *args, username, password, base_url, new_key, key_file, **options):
        base_url = base_url.rstrip("/")
        tenant, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo tenant", "tier": "dev"})
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.save()
        # Shown while it is still the seeded one; a password changed since is never reset or shown.
        shown_password = password if created or user.check_password(password) else "(changed; not shown)"
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.ADMIN})
        raw, created_key = demo_key_keep_or_create(tenant=tenant, path=Path(key_file), rotate=new_key)
        sample = seed_sample_data(tenant=tenant)
        kept = "new" if created_key else f"unchanged, kept in {key_file}"
        lines = [
            "Demo ready:",
            f"  admin:    {base_url}/admin/",
            f"  login:    {username} / {shown_password}",
            f"  API docs: {base_url}/api/docs/",
            f"  tenant:   {tenant.slug} (tier {tenant.tier}); sample data: {sample}",
            f"  API key:  {raw}",
            f"            ({kept}; make run NEW_KEY=1 for a new one)",
        ]
        # Framed, so the login stands out from the installer's and the server's output around it.
        width = max(len(line) for line in lines) + 2
        framed = ["+" + "-" * width + "+", *(f"| {line.ljust(width - 2)} |" for line in lines), "+" + "-" * width + "+"]
        self.stdout.write("\n".join(framed))
