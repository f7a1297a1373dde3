"""`manage.py notify_pending`: send every mismatch notification that is pending and due."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from aosproject.metrics import NOTIFICATIONS
from aosproject.metrics_push import push_command_metrics
from triage.notify import notify_pending_sweep
from triage.tasks import schedule_notify_retry


class Command(BaseCommand):
    help = "Sends pending mismatch notifications whose next attempt is due (GitHub, then Slack)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many mismatches (default 500).")

    def handle(self, *args, limit: int, **options):
        try:
            counts = notify_pending_sweep(limit=limit, on_retry=schedule_notify_retry)
        finally:
            # From cron this process ends before any scrape: PROMETHEUS_PUSHGATEWAY_URL gets its counts.
            push_command_metrics(job="aos_notify_pending", collectors=[NOTIFICATIONS])
        self.stdout.write(
            f"notify_pending: {counts['due']} due, {counts['sent']} sent, {counts['retry']} retry scheduled, "
            f"{counts['failed']} failed, {counts['skipped'] + counts['not_due']} skipped, "
            f"{counts['no_channel']} waiting for a channel"
        )
