"""`manage.py reap_runs`: end runs stuck past their deadline plus grace; re-send queued runs."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from runtime.lifecycle import runs_reap


class Command(BaseCommand):
    help = "Ends runs queued/running past AOS_RUN_DEADLINE_SECONDS + AOS_RUN_REAP_GRACE_SECONDS (ERR_ABANDONED)."

    def handle(self, *args, **options):
        result = runs_reap()
        self.stdout.write(f"reap_runs: {result.abandoned} abandoned, {result.redispatched} re-sent")
