"""`demo.sample.seed_sample_data` (used by `manage.py seed_demo`)."""

from demo.sample import seed_sample_data
from traces.models import Trace, TraceSource
from triage.models import GroupStatus, MismatchGroup, NotificationState


def test_it_seeds_runs_a_replay_and_a_diverged_replay_once(tenant_a, settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    assert seed_sample_data(tenant=tenant_a) == "3 runs, 1 replay (parity), 1 diverged replay (mismatch at step 0)"
    runs = Trace.objects.filter(tenant=tenant_a, source=TraceSource.RUN)
    assert runs.count() == 3
    assert set(runs.values_list("status", flat=True)) == {"succeeded"}
    assert Trace.objects.filter(tenant=tenant_a, source=TraceSource.REPLAY).count() == 2
    group = MismatchGroup.objects.get(tenant=tenant_a)
    assert (group.status, group.count, group.reason, group.agent_id) == (
        GroupStatus.UNRESOLVED,
        1,
        "output_mismatch",
        "demo-pricing-agent",
    )
    mismatch = group.mismatches.get()
    assert mismatch.source == "replay" and mismatch.details["expected"] == {"usd": 96500}
    assert mismatch.notification_state == NotificationState.PENDING  # no channel configured: waiting, not failed
    assert seed_sample_data(tenant=tenant_a) == "3 runs (already seeded)"
    assert Trace.objects.filter(tenant=tenant_a).count() == 6
