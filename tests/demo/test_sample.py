"""`demo.sample.seed_sample_data` (used by `manage.py seed_demo`)."""

from demo.sample import seed_sample_data
from traces.models import Trace, TraceSource


def test_it_seeds_runs_and_a_replay_once(tenant_a):
    assert seed_sample_data(tenant=tenant_a) == "3 runs, 1 replay (parity)"
    runs = Trace.objects.filter(tenant=tenant_a, source=TraceSource.RUN)
    assert runs.count() == 3
    assert set(runs.values_list("status", flat=True)) == {"succeeded"}
    assert Trace.objects.filter(tenant=tenant_a, source=TraceSource.REPLAY).count() == 1
    assert seed_sample_data(tenant=tenant_a) == "3 runs (already seeded)"
    assert Trace.objects.filter(tenant=tenant_a).count() == 4
