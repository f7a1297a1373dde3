"""`prune_traces` from cron pushes its metrics to a real Pushgateway (Debian prometheus-pushgateway)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import pytest
import requests
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from tests.procs import PUSHGATEWAY_BIN, ROOT, child_env, free_port, ready, running, wait_for
from tests.traces.test_retention import NOW, at, prune, remaining
from tests.traces.tracebuild import store
from traces.models import Trace

needs_pushgateway = pytest.mark.skipif(
    PUSHGATEWAY_BIN is None, reason="needs prometheus-pushgateway (Debian package; CI installs it)"
)


@pytest.fixture
def pushgateway(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [PUSHGATEWAY_BIN, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with running(args, log_path=tmp_path / "pushgateway.log", url=url) as gateway:
        wait_for(lambda: ready(f"{url}/-/ready"), timeout=15, what="Pushgateway", log=gateway.log_path)
        yield gateway


def gateway_samples(url: str) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"{url}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@needs_pushgateway
@pytest.mark.django_db(transaction=True)
def test_it_pushes_the_deletion_counter_of_a_cron_run_to_the_pushgateway(pushgateway, tenant_a):
    """Finding 1: prune_traces from cron deleted traces with aos_retention_deleted_total at 0."""
    for n in range(3):
        with at(90):
            store(tenant_a, trace_id=f"old-{n}", steps=2)
    store(tenant_a, trace_id="new", steps=1)
    env = child_env(PROMETHEUS_PUSHGATEWAY_URL=pushgateway.url, PROMETHEUS_PUSHGATEWAY_INSTANCE="cron-host-1")
    result = subprocess.run(
        [sys.executable, "manage.py", "prune_traces", "--days", "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "deleted 3 traces" in result.stdout
    assert set(Trace.objects.values_list("trace_id", flat=True)) == {"new"}

    group = (("instance", "cron-host-1"), ("job", "aos_prune_traces"))
    samples = gateway_samples(pushgateway.url)
    assert samples[("aos_retention_deleted_total", group)] == 3
    pushed_at = samples[("aos_retention_last_success_timestamp_seconds", group)]
    assert pushed_at > 0 and samples[("push_time_seconds", group)] >= pushed_at - 1
    # Only the command's own metrics: no web or database gauges are pushed from a batch job.
    assert not [name for name, labels in samples if labels == group and name.startswith(("django_", "aos_runs"))]


@needs_pushgateway
@pytest.mark.django_db
def test_it_keeps_the_last_success_when_a_later_run_fails(pushgateway, settings, aged, monkeypatch):
    from traces import retention

    settings.PROMETHEUS_PUSHGATEWAY_URL = pushgateway.url
    settings.PROMETHEUS_PUSHGATEWAY_INSTANCE = "cron-host-2"
    call_command("prune_traces", stdout=io.StringIO())
    group = (("instance", "cron-host-2"), ("job", "aos_prune_traces"))
    first = gateway_samples(pushgateway.url)
    success = first[("aos_retention_last_success_timestamp_seconds", group)]

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(retention, "_delete_batch", broken)
    Trace.objects.filter(trace_id="a-new").update(created_at=NOW.replace(year=2020))
    with pytest.raises(RuntimeError):
        call_command("prune_traces", stdout=io.StringIO())
    after = gateway_samples(pushgateway.url)
    assert after[("aos_retention_last_success_timestamp_seconds", group)] == success
    assert ("aos_retention_deleted_total", group) in after


@pytest.mark.django_db
def test_it_finishes_its_work_when_the_pushgateway_is_unreachable(settings, aged, caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings.PROMETHEUS_PUSHGATEWAY_URL = dead
    settings.PROMETHEUS_PUSHGATEWAY_TIMEOUT = 0.5
    out = io.StringIO()
    out = prune()
    assert "deleted 4 traces" in out
    assert "a-old" not in remaining()
    assert "not pushed to the Pushgateway" in caplog.text


@pytest.mark.django_db
def test_it_pushes_nothing_without_a_pushgateway_url(settings, aged, monkeypatch):
    import aosproject.metrics_push as push

    settings.PROMETHEUS_PUSHGATEWAY_URL = ""
    calls: list = []
    monkeypatch.setattr(push, "pushadd_to_gateway", lambda *a, **k: calls.append(a))
    prune()
    assert calls == []
