"""Seeds the demo tenant, an admin login and an API key for `make run` (safe to re-run)."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import ApiKey, Membership, Role, Tenant
from accounts.services import api_key_create

DEMO_KEY_NAME = "demo (make run)"


class Command(BaseCommand):
    help = "Create or refresh the demo tenant, admin user, API key and sample data; print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USERNAME", "admin"))
        parser.add_argument("--password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin"))
        parser.add_argument(
            "--base-url", default=settings.AOS_BASE_URL, help="Where the server listens (for the links)."
        )

    def handle(self, *args, username, password, base_url, **options):
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
        # A fresh key each time (the old one cannot be shown again), older demo keys revoked.
        ApiKey.objects.filter(tenant=tenant, name=DEMO_KEY_NAME, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _, raw = api_key_create(tenant=tenant, role=Role.OPERATOR, name=DEMO_KEY_NAME)
        sample = self._seed_sample_data(tenant)
        self.stdout.write(
            "\n".join(
                [
                    "Demo ready:",
                    f"  admin:    {base_url}/admin/",
                    f"  login:    {username} / {shown_password}",
                    f"  API docs: {base_url}/api/docs/",
                    f"  tenant:   {tenant.slug} (tier {tenant.tier}); sample data: {sample}",
                    f"  API key:  {raw}",
                ]
            )
        )

    def _seed_sample_data(self, tenant) -> str:
        try:
            from runtime.demo import seed_sample_data
        except ImportError:
            return "none"
        return seed_sample_data(tenant=tenant)
