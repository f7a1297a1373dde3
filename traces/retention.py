"""Trace retention (PRODUCT.md §11 `prune_traces`): per-tenant ages, batched deletes, one run at a time.

Used by `manage.py prune_traces` and the Celery beat task. Pinned traces and traces with an
unresolved mismatch are never deleted. Each batch commits on its own, so an interrupted run
keeps what it did and the next run carries on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Tenant
from aosproject.metrics import RETENTION_DELETED
from aosproject.plurals import counted
from traces.models import RetentionRun, Trace, TraceStep

# pg_try_advisory_lock key: "AOSPRUNE" read as a signed 64-bit integer.
ADVISORY_LOCK_KEY = int.from_bytes(b"AOSPRUNE", "big", signed=True)
CACHE_LOCK_KEY = "aos:prune_traces:lock"
CACHE_LOCK_SECONDS = 6 * 3600  # a crashed run's cache lock expires; the advisory lock dies with its session


class RetentionLocked(Exception):
    """Another prune_traces run holds the lock."""


@contextlib.contextmanager
def retention_lock() -> Iterator[None]:
    """Held for a whole run: a PostgreSQL advisory lock, or a cache lock on other databases."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            acquired = cursor.fetchone()[0]
        if not acquired:
            raise RetentionLocked("another prune_traces run holds the PostgreSQL advisory lock; not starting")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return
    token = uuid.uuid4().hex
    if not cache.add(CACHE_LOCK_KEY, token, CACHE_LOCK_SECONDS):
        raise RetentionLocked(f"another prune_traces run holds the cache lock {CACHE_LOCK_KEY!r}; not starting")
    try:
        yield
    finally:
        if cache.get(CACHE_LOCK_KEY) == token:
            cache.delete(CACHE_LOCK_KEY)


def tenant_cutoffs(
    *, now: dt.datetime, days: int | None, tenant: Tenant | None, force: bool = False
) -> list[tuple[Tenant, dt.datetime]]:
    """(tenant, cutoff) pairs: each tenant's retention_days, or `days` for all of them.

    A tenant with retention_days 0 keeps its traces forever: `days` does not override that
    unless `force` (a person asked for it by name, `prune_traces --force`).
    """
    if days is not None and days < 1:
        raise ValueError("days must be at least 1: 0 would delete every trace")
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("id"))
    pairs = []
    for t in tenants:
        if t.retention_days == 0 and not (force and days is not None):
            continue
        keep_days = days if days is not None else t.retention_days
        pairs.append((t, now - dt.timedelta(days=keep_days)))
    return pairs


def count_candidates(*, cutoffs: list[tuple[Tenant, dt.datetime]]) -> int:
    """How many traces the run would delete (the progress bar's total)."""
    return sum(Trace.objects.for_tenant(t).expired(cutoff).count() for t, cutoff in cutoffs)


def _delete_batch(*, tenant: Tenant, cutoff: dt.datetime, batch_size: int) -> tuple[int, int]:
    with transaction.atomic():
        ids = list(
            Trace.objects.for_tenant(tenant).expired(cutoff).order_by("id").values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return 0, 0
        # Re-checked in the DELETE: a trace pinned or reported since the SELECT is kept.
        # only("id"): the collector loads the rows it deletes, and plans/metadata can be large.
        # Steps and (resolved) mismatches go by cascade as one DELETE each; replays are unlinked.
        _, per_model = Trace.objects.filter(id__in=ids).expired(cutoff).only("id").delete()
    return per_model.get(Trace._meta.label, 0), per_model.get(TraceStep._meta.label, 0)


def prune_traces(
    *,
    days: int | None = None,
    tenant: Tenant | None = None,
    dry_run: bool = False,
    batch_size: int = 1000,
    now: dt.datetime | None = None,
    on_batch: Callable[[int], None] | None = None,
    cutoffs: list[tuple[Tenant, dt.datetime]] | None = None,
    force: bool = False,
) -> RetentionRun:
    """Deletes expired traces (or counts them on a dry run) under the lock; returns the run record.

    The record's counts are saved after every batch, so a run killed half-way (no `finally`
    runs on SIGKILL) still shows what it deleted; its status stays `running`.
    Raises RetentionLocked when another run is in progress.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    with retention_lock():
        if cutoffs is None:
            cutoffs = tenant_cutoffs(now=now, days=days, tenant=tenant, force=force)
        run = RetentionRun.objects.create(dry_run=dry_run, days=days, tenant=tenant)
        try:
            for t, cutoff in cutoffs:
                old = Trace.objects.for_tenant(t).filter(created_at__lt=cutoff)
                run.traces_kept += old.retained().count()
                if dry_run:
                    expired = old.expired(cutoff)
                    run.traces_deleted += expired.count()
                    run.steps_deleted += TraceStep.objects.filter(trace__in=expired).count()
                    continue
                while True:
                    traces_n, steps_n = _delete_batch(tenant=t, cutoff=cutoff, batch_size=batch_size)
                    if not traces_n:
                        break
                    run.traces_deleted += traces_n
                    run.steps_deleted += steps_n
                    run.save(update_fields=["traces_deleted", "steps_deleted", "traces_kept"])
                    RETENTION_DELETED.inc(traces_n)
                    if on_batch is not None:
                        on_batch(traces_n)
        except BaseException:
            run.status = "failed"
            raise
        else:
            run.status = "dry_run" if dry_run else "succeeded"
        finally:
            run.finished_at = timezone.now()
            run.save()
    return run


def run_summary(run: RetentionRun, *, tenants: int, seconds: float) -> str:
    """The command's one-line summary."""
    verb = "would delete" if run.dry_run else "deleted"
    scope = f"tenant {run.tenant.slug}" if run.tenant_id else counted(tenants, "tenant")
    days = f"older than {counted(run.days, 'day')}" if run.days is not None else "past each tenant's retention_days"
    return (
        f"prune_traces{' (dry run)' if run.dry_run else ''}: {verb} {counted(run.traces_deleted, 'trace')} and "
        f"{counted(run.steps_deleted, 'step')} {days} across {scope}; kept {run.traces_kept} pinned or with "
        f"unresolved mismatches; {seconds:.2f}s (run #{run.pk})"
    )
