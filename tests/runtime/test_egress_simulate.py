"""Simulate reports a destination the outbound policy would refuse as a permission gap, without DNS."""

from __future__ import annotations

import pytest

from tests.runtime.helpers import SIMULATE, transform


def simulate(client, plan):
    response = client.post(SIMULATE, {"plan": plan, "seed": 1}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def http(url, **step):
    return {"skill": "http_call", "params": {"url": url}, **step}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://127.0.0.1\\@hooks.example.com/", "backslash"),
        ("http://user@hooks.example.com/", "userinfo"),
    ],
)
def test_it_reports_a_refused_destination_as_a_permission_gap(api_a_dev, settings, dns, url, reason):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.example.com"]
    body = simulate(api_a_dev, [transform({"a": 1}, query="a"), http(url)])
    assert (body["status"], body["feasible"]) == ("permission_denied", False)
    [gap] = body["permission_gaps"]
    assert (gap["step_index"], gap["skill_id"]) == (1, "http_call")
    assert gap["reason"].startswith("destination refused: ") and reason in gap["reason"]
    assert dns.lookups == []


def test_it_reports_a_refused_webhook_and_fallback_destination(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    plan = [
        {"skill": "webhook_send", "params": {"url": "http://10.0.0.5/hook", "text": "hi"}},
        http("https://api.example.com/", fallback={"skill": "http_call", "params": {"url": "http://[fd00::1]/"}}),
    ]
    gaps = simulate(api_a_dev, plan)["permission_gaps"]
    assert [(g["step_index"], g["skill_id"]) for g in gaps] == [(0, "webhook_send"), (1, "http_call")]
    assert "10.0.0.5 is a private-network address" in gaps[0]["reason"]
    assert "fd00::1" in gaps[1]["reason"]


def test_it_keeps_allowed_names_and_references_feasible_without_a_lookup(api_a_dev, settings, dns):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.0/8"]
    plan = [
        http("http://127.0.0.1:8000/allowed"),  # allow-listed CIDR
        http("https://api.example.com/x"),  # a name: checked when the step runs, never resolved here
        http("{{ input.url }}"),  # known only at run time
    ]
    body = simulate(api_a_dev, plan)
    assert (body["status"], body["permission_gaps"]) == ("feasible", [])
    assert dns.lookups == []
