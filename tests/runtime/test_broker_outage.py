"""A broker that is down (issue 21 finding 3): 503 in the error envelope, nothing left queued.

The broker is real and dead: a Redis URL on a loopback port nobody listens on. Decision 0012:
the run is marked failed `ERR_BROKER_UNAVAILABLE` (visible, never executed later), its
concurrency slot and its Idempotency-Key are given back, so the client's retry starts afresh.
"""

from __future__ import annotations

import socket

import pytest

from tests.runtime.helpers import RUNS, pure_plan, run
from traces.models import Trace, TraceSource, TraceStatus


@pytest.fixture
def dead_broker(transactional_db, settings):
    """Celery with a real broker URL on a closed port (tasks are sent, not run eagerly)."""
    from aosproject.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    app.conf.task_always_eager = False
    app._pool = None
    app.amqp._producer_pool = None
    yield app.conf.broker_url
    app.conf.broker_url, app.conf.task_always_eager = saved
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.parametrize("wait", [False, True])
def test_it_answers_503_and_leaves_no_queued_run_when_the_broker_is_down(dead_broker, api_a_dev, tenant_a, wait):
    tenant_a.max_concurrent = 1
    tenant_a.save()
    headers = {"HTTP_IDEMPOTENCY_KEY": f"outage-{wait}"}
    body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "wait": wait}

    first = api_a_dev.post(RUNS, body, format="json", **headers)
    again = api_a_dev.post(RUNS, body, format="json", **headers)  # same key, the slot is free again

    for response in (first, again):
        assert response.status_code == 503, response.content
        assert response.json()["error"] == "service_unavailable"
        assert response["Retry-After"] == "5"
    runs = Trace.objects.filter(source=TraceSource.RUN)
    assert runs.count() == 2
    assert not runs.filter(status__in=(TraceStatus.QUEUED, TraceStatus.RUNNING)).exists()
    assert set(runs.values_list("error_code", flat=True)) == {"ERR_BROKER_UNAVAILABLE"}
    assert {r.run_id for r in runs} == {first.json()["run_id"], again.json()["run_id"]}


def test_it_reaps_nothing_and_does_not_crash_while_the_broker_is_down(dead_broker, api_a_dev):
    from django.core.management import call_command

    run(api_a_dev, pure_plan(), wait=False)
    call_command("reap_runs")  # no queued run left to re-send; the command itself must not fail
    assert not Trace.objects.filter(status=TraceStatus.QUEUED).exists()
