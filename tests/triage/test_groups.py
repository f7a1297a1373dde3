"""Mismatch groups (PRODUCT.md §15): one per fingerprint, counts, regressions, concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from tests.triage.github_standin import make_trace
from triage.groups import GroupAlreadyResolved, group_resolve
from triage.models import GroupStatus, Mismatch, MismatchGroup
from triage.services import mismatch_record


def report(trace, *, step_index=1, reason="output_mismatch", reported_by="replay", details=None):
    details = {"replay_run_id": "r-1"} if details is None and reported_by == "replay" else details
    return mismatch_record(trace=trace, step_index=step_index, reason=reason, reported_by=reported_by, details=details)


@pytest.fixture
def quiet(settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""


def test_it_puts_one_fingerprint_in_one_group_with_counts(tenant_a, quiet):
    one, two = make_trace(tenant_a, "trace-1"), make_trace(tenant_a, "trace-2")
    first = report(one)
    report(one)
    last = report(two)
    group = MismatchGroup.objects.get()
    assert (group.count, group.affected_traces, group.status) == (3, 2, GroupStatus.UNRESOLVED)
    assert group.first_seen == first.created_at and group.last_seen == last.created_at
    assert group.last_mismatch_id == last.pk and group.fingerprint == first.fingerprint
    assert (group.step_index, group.skill_id, group.reason) == (1, "http_call", "output_mismatch")
    assert set(Mismatch.objects.values_list("group_id", flat=True)) == {group.pk}
    assert list(group.events.values_list("kind", flat=True)) == ["reported"] * 3


def test_it_keeps_other_fingerprints_and_tenants_apart(tenant_a, tenant_b, quiet):
    report(make_trace(tenant_a, "trace-1"), step_index=1)
    report(make_trace(tenant_a, "trace-2"), step_index=2)
    report(make_trace(tenant_a, "trace-3"), reason="status_mismatch")
    report(make_trace(tenant_b, "trace-1"))
    assert MismatchGroup.objects.count() == 4
    assert MismatchGroup.objects.for_tenant(tenant_b).get().count == 1


def test_it_regresses_a_group_resolved_as_fixed(tenant_a, quiet):
    trace = make_trace(tenant_a)
    group = report(trace).group
    group_resolve(group=group, kind="fixed", note="Pinned the clock.", who="alice")
    assert Mismatch.objects.get().resolved  # resolving the group resolves its mismatches
    again = report(trace)
    group.refresh_from_db()
    assert (group.status, group.count) == (GroupStatus.REGRESSED, 2)
    assert not again.resolved
    assert list(group.events.values_list("kind", flat=True)) == ["reported", "resolved", "reported", "reopened"]


@pytest.mark.parametrize("kind", ["accepted_nondeterminism", "flaky_skill", "infrastructure", "duplicate"])
def test_it_only_counts_a_mismatch_in_a_group_resolved_otherwise(
    tenant_a, quiet, kind, django_capture_on_commit_callbacks
):
    trace = make_trace(tenant_a)
    group = report(trace).group
    group_resolve(group=group, kind=kind, note="Known.", who="alice")
    with django_capture_on_commit_callbacks() as callbacks:
        again = report(trace)
    group.refresh_from_db()
    assert (group.status, group.count, group.resolution_kind) == (GroupStatus.RESOLVED, 2, kind)
    assert again.resolved and again.resolved_by == "aos"
    assert callbacks == []  # not notified: nothing is scheduled


def test_it_refuses_a_bad_resolution(tenant_a, quiet):
    group = report(make_trace(tenant_a)).group
    with pytest.raises(ValueError):
        group_resolve(group=group, kind="cosmic_rays", note="x", who="alice")
    with pytest.raises(ValueError):
        group_resolve(group=group, kind="fixed", note="  ", who="alice")
    group_resolve(group=group, kind="fixed", note="Done.", who="alice")
    with pytest.raises(GroupAlreadyResolved):
        group_resolve(group=group, kind="fixed", note="Again.", who="alice")


needs_postgres = pytest.mark.skipif(
    "postgresql" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="row locks and concurrent writers need PostgreSQL",
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_it_counts_concurrent_reports_of_one_fingerprint_in_one_group(tenant_a, settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    traces = [make_trace(tenant_a, f"trace-{i}") for i in range(4)]
    workers, per_worker = 8, 3
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_worker):
                report(traces[n % len(traces)])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    group = MismatchGroup.objects.get()
    assert group.count == workers * per_worker == Mismatch.objects.filter(group=group).count()
    assert group.affected_traces == len(traces)
