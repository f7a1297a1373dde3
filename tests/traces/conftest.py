"""Fixtures shared by the retention tests."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.traces.tracebuild import store
from traces.models import Trace
from triage.models import Mismatch
from triage.services import mismatch_record

RETENTION_NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _at(days_ago: float):
    return time_machine.travel(RETENTION_NOW - dt.timedelta(days=days_ago), tick=False)


@pytest.fixture
def aged(tenant_a, tenant_b):
    """Tenant A keeps 30 days (default), tenant B 7 days; traces at several ages."""
    tenant_b.retention_days = 7
    tenant_b.save()
    made = {}
    for name, tenant, days in [
        ("a-new", tenant_a, 1),
        ("a-old", tenant_a, 40),
        ("a-older", tenant_a, 90),
        ("a-pinned", tenant_a, 90),
        ("a-mismatch", tenant_a, 90),
        ("a-resolved", tenant_a, 90),
        ("b-new", tenant_b, 3),
        ("b-10d", tenant_b, 10),
    ]:
        with _at(days):
            made[name] = store(tenant, trace_id=name, steps=3)
    Trace.objects.filter(pk=made["a-pinned"].pk).update(pinned=True)
    mismatch_record(trace=made["a-mismatch"], step_index=1, reason="output_mismatch", reported_by="test")
    resolved = mismatch_record(trace=made["a-resolved"], step_index=0, reason="output_mismatch", reported_by="t")
    Mismatch.objects.filter(pk=resolved.pk).update(resolved=True)
    return made
