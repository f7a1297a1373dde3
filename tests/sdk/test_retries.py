"""Retries: 429/502/503/504 and dropped connections, `Retry-After`, one Idempotency-Key per POST."""

import json
import re
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest

from accounts.models import Role
from aos_sdk import AOSConnectionError, RateLimitError, ServerError, ValidationError
from tests.sdk.conftest import PURE_PLAN, FakeTime, key, sdk_client
from tests.sdk.dropproxy import DropFirstResponses
from tests.servers import LocalServer
from traces.models import Trace, TraceSource


def test_it_retries_a_post_whose_answer_was_lost_and_the_server_runs_it_once(live_server, tenant_a):
    port = urlsplit(live_server.url).port
    fake = FakeTime()
    with DropFirstResponses(port) as proxy, sdk_client(proxy.url, key(tenant_a, Role.DEVELOPER), fake) as aos:
        run = aos.create_run(PURE_PLAN, seed=123, wait=True)
    assert proxy.dropped == 1 and len(proxy.forwarded) == 2
    keys = [re.search(rb"idempotency-key: (\S+)", r, re.I).group(1) for r in proxy.forwarded]
    assert keys[0] == keys[1] and keys[0].startswith(b"sdk-")
    assert len(fake.sleeps) == 1
    rows = Trace.objects.filter(source=TraceSource.RUN, seed=123)
    assert rows.count() == 1 and rows.get().run_id == run.run_id and run.status == "succeeded"


def test_it_runs_twice_without_the_shared_key(live_server, tenant_a):
    """The check above can fail: the same drop retried by hand with a fresh key creates two runs."""
    port = urlsplit(live_server.url).port
    with DropFirstResponses(port) as proxy, sdk_client(proxy.url, key(tenant_a, Role.DEVELOPER), max_retries=0) as aos:
        with pytest.raises(AOSConnectionError):
            aos.create_run(PURE_PLAN, seed=321, wait=True, idempotency_key="first")
        aos.create_run(PURE_PLAN, seed=321, wait=True, idempotency_key="second")
    assert Trace.objects.filter(source=TraceSource.RUN, seed=321).count() == 2


def _flaky(statuses, retry_after=None):
    answers = list(statuses)

    def handle(method, path, headers, body):
        status = answers.pop(0) if answers else 200
        extra = {"Retry-After": retry_after} if retry_after is not None and status != 200 else {}
        if status == 200:
            return 200, {}, {"status": "ok"}
        return status, extra, {"error": "unavailable", "message": f"try again ({status})"}

    return handle


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_it_waits_exactly_the_retry_after_it_is_sent(status):
    fake = FakeTime()
    with LocalServer(_flaky([status, status], retry_after="7")) as srv, sdk_client(srv.url, "aos_x", fake) as aos:
        assert aos.health().status == "ok"
    assert fake.sleeps == [7.0, 7.0] and len(srv.requests) == 3


def test_it_reads_a_retry_after_http_date_against_its_clock():
    fake = FakeTime()
    when = formatdate(fake.now + 12, usegmt=True)
    with LocalServer(_flaky([503], retry_after=when)) as srv, sdk_client(srv.url, "aos_x", fake) as aos:
        aos.health()
    assert fake.sleeps == [pytest.approx(12, abs=1)]


def test_it_backs_off_with_jitter_without_retry_after_and_keeps_one_key_per_post():
    fake = FakeTime()
    with LocalServer(_flaky([502, 503, 504])) as srv, sdk_client(srv.url, "aos_x", fake) as aos:
        aos.request("POST", "/api/v1/runtime/simulate", json={"plan": []})
    assert len(fake.sleeps) == 3
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(fake.sleeps))
    keys = {r["headers"]["Idempotency-Key"] for r in srv.requests}
    assert len(keys) == 1 and len(srv.requests) == 4


def test_it_gives_up_after_max_retries_with_the_last_error():
    fake = FakeTime()
    with LocalServer(_flaky([503] * 10)) as srv, sdk_client(srv.url, "aos_x", fake, max_retries=2) as aos:
        with pytest.raises(ServerError) as exc:
            aos.health()
    assert exc.value.status_code == 503 and len(srv.requests) == 3


def test_it_does_not_retry_client_errors():
    def handle(method, path, headers, body):
        return 400, {}, {"error": "validation_error", "message": "bad", "fields": {"plan": ["required"]}}

    with LocalServer(handle) as srv, sdk_client(srv.url, "aos_x") as aos:
        with pytest.raises(ValidationError) as exc:
            aos.request("POST", "/x", json={})
    assert exc.value.fields == {"plan": ["required"]} and len(srv.requests) == 1


def test_it_raises_at_once_when_retry_after_is_beyond_its_patience():
    fake = FakeTime()
    with LocalServer(_flaky([429], retry_after="3600")) as srv, sdk_client(srv.url, "aos_x", fake) as aos:
        with pytest.raises(RateLimitError) as exc:
            aos.health()
    assert exc.value.retry_after == 3600 and fake.sleeps == [] and len(srv.requests) == 1


def test_it_honours_the_real_servers_rate_limit(live_server, tenant_a, settings):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 2}
    fake = FakeTime()
    with sdk_client(live_server.url, key(tenant_a, Role.VIEWER), fake, max_retries=1) as aos:
        aos.me()
        aos.me()
        with pytest.raises(RateLimitError) as exc:
            aos.me()
    assert exc.value.status_code == 429 and exc.value.code == "rate_limit_exceeded"
    assert 0 < exc.value.retry_after <= 60
    assert fake.sleeps == [pytest.approx(exc.value.retry_after, abs=1)]


def test_it_polls_a_run_the_server_answered_202_for_despite_wait(fake_time):
    """PRODUCT.md §14: `wait: true` waits a bounded time, then answers 202 with the run's URL."""
    states = ["running", "running", "succeeded"]

    def handle(method, path, headers, body):
        if method == "POST":
            return 202, {}, {"run_id": "run_1", "trace_id": "tr_1", "status": "running", "url": "/x"}
        status = states.pop(0)
        return 200, {}, {"run_id": "run_1", "status": status, "steps": [] if status != "succeeded" else [{"index": 0}]}

    seen = []
    with LocalServer(handle) as srv, sdk_client(srv.url, "aos_x", fake_time) as aos:
        run = aos.run(PURE_PLAN, poll_interval=0.25, on_poll=lambda r: seen.append(r.status))
    assert run.status == "succeeded" and seen == ["running", "running", "succeeded"]
    assert json.loads(srv.requests[0]["body"])["wait"] is True
    assert fake_time.sleeps == [0.25, 0.25]


def test_it_gives_up_waiting_for_a_run_at_its_timeout(fake_time):
    def handle(method, path, headers, body):
        return 200, {}, {"run_id": "run_1", "status": "running"}

    with LocalServer(handle) as srv, sdk_client(srv.url, "aos_x", fake_time) as aos:
        with pytest.raises(TimeoutError, match="still running"):
            aos.wait_for_run("run_1", timeout=1, poll_interval=0.5)
    assert fake_time.sleeps == [0.5, 0.5]
