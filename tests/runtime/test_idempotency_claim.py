"""An idempotency claim outlives its run (PRODUCT.md §14; issue 21 finding 7).

Found: the in-flight claim expired after IDEMPOTENCY_LOCK_SECONDS while the run went on, and a
repeat executed the plan again (two webhook deliveries for one key); gunicorn's SystemExit on a
worker timeout released the claim after the webhook had been sent. Here a real webhook stand-in
counts deliveries.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from aosproject.models import IdempotencyRecord
from tests.conftest import client_with_key
from tests.runtime.helpers import RUNS
from tests.runtime.pooled_server import PooledLiveServer
from tests.servers import LocalServer
from traces.models import Trace, TraceSource, TraceStatus


class SlowWebhook:
    """Records deliveries; holds each one for `hold` seconds and says when one arrived."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, method, path, headers, body):
        self.arrived.set()
        self.release.wait(self.hold)
        return 200, {}, b"ok"


def _plan(url: str) -> list[dict]:
    return [{"skill": "webhook_send", "params": {"url": url, "text": "deploy finished"}}]


def test_it_never_executes_twice_when_the_lock_seconds_pass_mid_run(transactional_db, tenant_a, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.IDEMPOTENCY_LOCK_SECONDS = 0  # the old claim lapsed at once; the run's lease must keep it
    raw = client_with_key(tenant_a, Role.DEVELOPER).raw_key
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "deploy-1"}
    hook = SlowWebhook(hold=5)
    with LocalServer(hook) as webhook, PooledLiveServer(workers=4) as live:
        body = {"plan": _plan(webhook.url), "wait": True}
        first: dict = {}
        worker = threading.Thread(
            target=lambda: first.update(r=requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=30))
        )
        worker.start()
        assert hook.arrived.wait(10)  # the first request's run is now sending the webhook

        repeat = requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=30)
        hook.release.set()
        worker.join(30)
        after = requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=30)

    assert repeat.status_code == 409, repeat.content
    assert repeat.json()["error"] == "idempotency_in_progress"
    run_id = Trace.objects.get(source=TraceSource.RUN).run_id
    assert repeat.json()["url"] == f"/api/v1/runtime/runs/{run_id}"
    assert first["r"].status_code == 201
    assert (after.status_code, after.headers["Idempotent-Replayed"]) == (201, "true")
    assert after.json()["run_id"] == run_id
    assert len(webhook.requests) == 1
    assert Trace.objects.filter(source=TraceSource.RUN).count() == 1


def test_it_keeps_the_claim_when_the_worker_is_killed_after_the_webhook_was_sent(
    api_a_dev, tenant_a, settings, monkeypatch, capsys
):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "deploy-2"}
    with LocalServer(lambda *a: (200, {}, b"ok")) as webhook:
        body = {"plan": _plan(webhook.url), "wait": True}

        def killed(**kwargs):  # what gunicorn's timeout does to a sync worker: SystemExit mid-request
            raise SystemExit(1)

        with monkeypatch.context() as patch:
            patch.setattr("runtime.services.execution_store", killed)
            with pytest.raises(SystemExit):
                api_a_dev.post(RUNS, body, format="json", **headers)
        assert len(webhook.requests) == 1

        in_flight = api_a_dev.post(RUNS, body, format="json", **headers)
        assert in_flight.status_code == 409
        run_id = in_flight.json()["run_id"]
        assert in_flight.json()["url"] == f"/api/v1/runtime/runs/{run_id}"
        assert IdempotencyRecord.objects.get().run_id == run_id

        # The reaper ends the orphaned run; the key then answers with that run's outcome.
        lease = settings.AOS_RUN_DEADLINE_SECONDS + settings.AOS_RUN_REAP_GRACE_SECONDS
        old = timezone.now() - timedelta(seconds=lease + 1)
        Trace.objects.filter(run_id=run_id).update(updated_at=old)
        IdempotencyRecord.objects.update(created_at=old)  # the killed request's lease passed too
        call_command("reap_runs")
        outcome = api_a_dev.post(RUNS, body, format="json", **headers)

    assert outcome.status_code == 200
    assert outcome["Idempotent-Replayed"] == "true"
    assert (outcome.json()["run_id"], outcome.json()["status"]) == (run_id, TraceStatus.FAILED)
    assert outcome.json()["error_code"] == "ERR_ABANDONED"
    assert len(webhook.requests) == 1  # never delivered twice
    assert Trace.objects.filter(source=TraceSource.RUN).count() == 1


def test_it_still_frees_the_key_when_nothing_started(api_a_dev):
    headers = {"HTTP_IDEMPOTENCY_KEY": "bad-plan"}
    bad = api_a_dev.post(RUNS, {"plan": [{"skill": "json_transform", "params": {}}]}, format="json", **headers)
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
