"""`http_call` and `webhook_send` against real local servers: retries, no retry on 4xx, timeout,
refused private destinations (PRODUCT.md §4)."""

import threading

import pytest

from runtime.skills import SkillError
from runtime.skills._http import destination_check
from tests.runtime.helpers import run
from tests.servers import LocalServer


@pytest.fixture
def allow_local(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]


def call(url, **params):
    return {"skill": "http_call", "params": {"url": url, "backoff_ms": 1, **params}}


def flaky(fails: int, status: int = 503):
    counter = {"n": 0}

    def handle(method, path, headers, body):
        counter["n"] += 1
        if counter["n"] <= fails:
            return status, {}, {"error": "unavailable"}
        return 200, {}, {"ok": True, "path": path}

    return handle


def test_it_retries_5xx_and_counts_the_retries(api_a_dev, allow_local):
    with LocalServer(flaky(2)) as server:
        body = run(api_a_dev, [call(server.url + "/price")]).json()
    step = body["steps"][0]
    assert step["status"] == "succeeded"
    assert step["retry_count"] == 2
    assert step["output"] == {"status_code": 200, "body": {"ok": True, "path": "/price"}}
    assert len(server.requests) == 3


def test_it_fails_after_exhausting_retries(api_a_dev, allow_local):
    with LocalServer(flaky(10)) as server:
        body = run(api_a_dev, [call(server.url, retries=1)]).json()
    step = body["steps"][0]
    assert (step["status"], step["error_code"], step["retry_count"]) == ("failed", "ERR_HTTP_STATUS", 1)
    assert step["output"]["status_code"] == 503
    assert len(server.requests) == 2
    assert body["status"] == "failed"


def test_it_never_retries_a_4xx(api_a_dev, allow_local):
    with LocalServer(flaky(10, status=404)) as server:
        body = run(api_a_dev, [call(server.url, retries=3)]).json()
    step = body["steps"][0]
    assert (step["status"], step["error_code"], step["retry_count"]) == ("failed", "ERR_HTTP_STATUS", 0)
    assert step["output"]["status_code"] == 404
    assert len(server.requests) == 1


def test_it_times_out_a_hanging_server(api_a_dev, allow_local):
    release = threading.Event()

    def hang(method, path, headers, body):
        release.wait(2)
        return 200, {}, {"late": True}

    with LocalServer(hang) as server:
        body = run(api_a_dev, [call(server.url, timeout=0.2, retries=1)]).json()
        release.set()
    step = body["steps"][0]
    assert (step["status"], step["error_code"], step["retry_count"]) == ("failed", "ERR_TIMEOUT", 1)
    assert len(server.requests) == 2


def test_it_applies_the_step_retry_policy_on_top(api_a_dev, allow_local):
    with LocalServer(flaky(2)) as server:
        plan = [{**call(server.url, retries=0), "retry": {"max_attempts": 3, "backoff_ms": 1}}]
        step = run(api_a_dev, plan).json()["steps"][0]
    assert (step["status"], step["retry_count"]) == ("succeeded", 2)
    assert len(server.requests) == 3


def test_it_refuses_loopback_unless_allow_listed(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    with LocalServer(flaky(0)) as server:
        body = run(api_a_dev, [call(server.url)]).json()
    step = body["steps"][0]
    assert (step["status"], step["error_code"]) == ("failed", "ERR_DESTINATION_REFUSED")
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://0.0.0.0/",
        "ftp://example.com/",
    ],
)
def test_it_refuses_private_destinations(settings, url):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    with pytest.raises(SkillError) as caught:
        destination_check(url)
    assert caught.value.code == "ERR_DESTINATION_REFUSED"


def test_it_allows_an_allow_listed_cidr(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["10.0.0.0/8"]
    destination_check("http://10.1.2.3/")
    with pytest.raises(SkillError):
        destination_check("http://192.168.1.1/")


def test_it_does_not_follow_redirects(api_a_dev, allow_local):
    def redirect(method, path, headers, body):
        return 302, {"Location": "http://169.254.169.254/"}, b""

    with LocalServer(redirect) as server:
        step = run(api_a_dev, [call(server.url)]).json()["steps"][0]
    assert step["output"]["status_code"] == 302
    assert len(server.requests) == 1


def test_it_posts_a_slack_compatible_webhook(api_a_dev, allow_local):
    with LocalServer(lambda *a: (200, {}, b"ok")) as server:
        plan = [{"skill": "webhook_send", "params": {"url": server.url + "/hook", "text": "BTC {{ input.p }}"}}]
        body = run(api_a_dev, plan, input={"p": 5}).json()
    assert body["steps"][0]["output"] == {"status_code": 200, "body": "ok"}
    request = server.requests[0]
    assert (request["method"], request["path"]) == ("POST", "/hook")
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == b'{"text": "BTC 5"}'
