"""manage.py prune_traces [--days N [--force]] [--tenant SLUG] [--dry-run] [--batch-size N]"""

from __future__ import annotations

import argparse
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Tenant
from traces.retention import RetentionLocked, count_candidates, prune_traces, run_summary, tenant_cutoffs
from traces.retention_metrics import push_retention_metrics


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days")
    if number < 1:
        # 0 is "keep forever" in a tenant's retention_days; as an override it would delete everything.
        raise argparse.ArgumentTypeError(f"{number} refused: at least 1 (0 would delete every trace)")
    return number


class Command(BaseCommand):
    help = (
        "Delete traces older than each tenant's retention_days (or --days). Pinned traces and traces "
        "with unresolved mismatches are kept. Refuses to start while another run holds the lock."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=_days,
            help="Override every tenant's retention_days (at least 1; keep-forever tenants excepted).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --days: also prune tenants whose retention_days is 0 (keep forever).",
        )
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=_positive, default=1000, help="Traces per delete batch (1000).")

    def handle(self, *args, days, force, tenant, dry_run, batch_size, **options) -> None:
        if force and days is None:
            raise CommandError("--force only applies with --days.")
        selected = None
        if tenant:
            selected = Tenant.objects.filter(slug=tenant).first()
            if selected is None:
                raise CommandError(f"Unknown tenant {tenant!r}.")
        now = timezone.now()
        cutoffs = tenant_cutoffs(now=now, days=days, tenant=selected, force=force)
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
        run = None
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
            # Also after a failure: the counter then shows what the run deleted before it stopped.
            push_retention_metrics(succeeded=run is not None and run.status == "succeeded")
        self.stdout.write(run_summary(run, tenants=len(cutoffs), seconds=time.monotonic() - started))
