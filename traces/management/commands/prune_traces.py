"""manage.py prune_traces [--days N] [--tenant SLUG] [--dry-run] [--batch-size N]"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Tenant
from traces.retention import RetentionLocked, count_candidates, prune_traces, run_summary, tenant_cutoffs


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Delete traces older than each tenant's retention_days (or --days). Pinned traces and traces "
        "with unresolved mismatches are kept. Refuses to start while another run holds the lock."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=_non_negative, help="Override every tenant's retention_days.")
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=_positive, default=1000, help="Traces per delete batch (1000).")

    def handle(self, *args, days, tenant, dry_run, batch_size, **options) -> None:
        selected = None
        if tenant:
            selected = Tenant.objects.filter(slug=tenant).first()
            if selected is None:
                raise CommandError(f"Unknown tenant {tenant!r}.")
        now = timezone.now()
        cutoffs = tenant_cutoffs(now=now, days=days, tenant=selected)
        # A progress bar only for a person at a terminal; cron and Kubernetes logs get the summary.
        interactive = self.stdout.isatty() and not dry_run
        bar = tqdm(
            total=count_candidates(cutoffs=cutoffs) if interactive else None,
            unit="trace",
            desc="prune_traces",
            disable=not interactive,
            file=self.stderr._out,
        )
        started = time.monotonic()
        try:
            run = prune_traces(
                days=days,
                tenant=selected,
                dry_run=dry_run,
                batch_size=batch_size,
                now=now,
                on_batch=bar.update,
                cutoffs=cutoffs,
            )
        except RetentionLocked as exc:
            raise CommandError(f"prune_traces: refused: {exc}.", returncode=2)
        finally:
            bar.close()
        self.stdout.write(run_summary(run, tenants=len(cutoffs), seconds=time.monotonic() - started))
