"""Outbound HTTP goes exactly where it was checked (issue 21, finding 1), tried through runs.

Loopback stand-ins record whether they were reached; a scripted resolver plays public names and
DNS rebinding, so no traffic leaves loopback (the public address below is never connected to).
Tricky URLs arrive as data (an earlier step's output, as a fetched response would feed them), the
way an attacker gets past the submit-time refusal of credential-looking literals (vault/).
"""

from __future__ import annotations

import pytest

from tests.runtime.helpers import run
from tests.servers import LocalServer

PUBLIC = "93.184.215.14"  # globally routable; a scripted answer only, never connected to


def ok(method, path, headers, body):
    return 200, {}, {"ok": True}


def call(url, **params):
    return {"skill": "http_call", "params": {"url": url, "backoff_ms": 1, **params}}


def only_step(client, plan):
    body = run(client, plan).json()
    assert len(body["steps"]) == len(plan), body
    return body["steps"][-1]


def from_data(url, skill="http_call", **params):
    """Two steps: one builds `url` from data, the next calls it through a `{{ }}` reference."""
    scheme, rest = url.split("://", 1)
    build = {
        "skill": "json_transform",
        "params": {"payload": {"a": scheme + "://", "b": rest}, "query": "join('', [a, b])"},
    }
    extra = {"backoff_ms": 1} if skill == "http_call" else {"text": "hi"}
    return [build, {"skill": skill, "params": {"url": "{{ steps[0].output }}", **extra, **params}}]


def assert_refused(step, reason):
    assert (step["status"], step["error_code"]) == ("failed", "ERR_DESTINATION_REFUSED"), step
    assert reason in step["error_message"]


def test_it_never_reaches_loopback_through_a_backslash_before_an_allow_listed_host(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.example.com"]
    dns.script("hooks.example.com", [PUBLIC])
    with LocalServer(ok) as internal:
        step = only_step(api_a_dev, from_data(f"http://127.0.0.1:{internal.port}\\@hooks.example.com/x"))
    assert_refused(step, "backslash")
    assert internal.requests == []


def test_it_never_reaches_ipv6_loopback_through_a_backslash(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.example.com"]
    dns.script("hooks.example.com", [PUBLIC])
    with LocalServer(ok, host="::1") as internal:
        step = only_step(api_a_dev, from_data(f"http://[::1]:{internal.port}\\@hooks.example.com/x"))
    assert_refused(step, "backslash")
    assert internal.requests == []


def test_it_never_reaches_loopback_through_a_backslash_before_a_public_name(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    dns.script("any-public-name.example", [PUBLIC])
    with LocalServer(ok) as internal:
        step = only_step(api_a_dev, from_data(f"http://127.0.0.1:{internal.port}\\@any-public-name.example/"))
    assert_refused(step, "backslash")
    assert internal.requests == []


def test_it_applies_the_same_rules_to_webhook_send(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.example.com"]
    dns.script("hooks.example.com", [PUBLIC])
    with LocalServer(ok) as internal:
        url = f"http://127.0.0.1:{internal.port}\\@hooks.example.com/hook"
        step = only_step(api_a_dev, from_data(url, skill="webhook_send"))
    assert_refused(step, "backslash")
    assert internal.requests == []


def test_it_refuses_userinfo_in_front_of_an_allowed_host(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(ok) as server:
        step = only_step(api_a_dev, from_data(f"http://admin:pw@127.0.0.1:{server.port}/"))
    assert_refused(step, "userinfo")
    assert server.requests == []


def test_it_connects_only_to_the_address_it_checked_when_dns_rebinds(api_a_dev, settings, dns):
    """First answer allowed, every later answer internal: every attempt still goes to the first."""
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    statuses = iter([503, 200])

    def checked_handler(method, path, headers, body):
        return next(statuses), {}, {"from": "checked"}

    with (
        LocalServer(checked_handler) as checked,
        LocalServer(ok, host="127.0.0.2", port=checked.port) as rebound,
    ):
        dns.script("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
        step = only_step(api_a_dev, [call(f"http://rebind.example:{checked.port}/x", retries=2)])
    assert rebound.requests == []
    assert (step["status"], step["retry_count"]) == ("succeeded", 1)
    assert step["output"]["body"] == {"from": "checked"}
    assert [r["headers"]["Host"] for r in checked.requests] == [f"rebind.example:{checked.port}"] * 2
    assert dns.count("rebind.example") == 1


def test_it_refuses_a_name_when_any_of_its_addresses_is_internal(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    dns.script("mixed.example", [PUBLIC, "10.0.0.1"])
    step = only_step(api_a_dev, [call("http://mixed.example/")])
    assert_refused(step, "mixed.example resolves to 10.0.0.1, which is a private-network address")
    assert dns.off_loopback == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("100.64.0.1", "carrier-grade NAT"),
        ("2002::1", "6to4"),
        ("fec0::1", "site-local"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("64:ff9b::a00:1", "NAT64 for 10.0.0.1"),
    ],
)
def test_it_refuses_a_name_resolving_to_a_range_is_private_misses(api_a_dev, settings, dns, answer, reason):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    dns.script("sneaky.example", [answer])
    step = only_step(api_a_dev, [call("http://sneaky.example/")])
    assert_refused(step, reason)
    assert dns.off_loopback == []  # nothing even tried to connect


def test_it_reaches_an_allow_listed_name_with_its_host_header(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["Hooks.Internal."]  # names match case-insensitively, final dot or not
    dns.script("hooks.internal", ["127.0.0.1"])
    with LocalServer(ok) as server:
        step = only_step(api_a_dev, [call(f"http://hooks.internal:{server.port}/ping")])
    assert (step["status"], step["output"]) == ("succeeded", {"status_code": 200, "body": {"ok": True}})
    assert server.requests[0]["headers"]["Host"] == f"hooks.internal:{server.port}"


def test_it_reaches_an_allow_listed_cidr_end_to_end(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.0/8"]
    with LocalServer(ok, host="127.0.0.2") as server:
        step = only_step(api_a_dev, [call(server.url + "/ping")])
    assert step["status"] == "succeeded"
    assert [r["path"] for r in server.requests] == ["/ping"]
