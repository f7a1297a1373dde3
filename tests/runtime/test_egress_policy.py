"""The outbound policy piece by piece: URL syntax, address ranges, the pinned transport, TLS, deadlines."""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from types import SimpleNamespace

import pytest
import trustme

from runtime.skills import SkillError, egress
from runtime.skills._http import destination_check, send
from runtime.skills._pinned import pinned_session
from runtime.skills.http_call import HttpCall
from tests.servers import LocalServer

PUBLIC = "93.184.215.14"  # globally routable; a scripted answer only, never connected to
NO_ALLOW = egress.AllowList.parse([])


def answers(*addresses):
    """An injected resolver (getaddrinfo's signature) that answers `addresses` for any name."""
    calls = []

    def resolve(host, port, family, type):
        calls.append(host)
        return [(0, type, 6, "", (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    resolve.calls = calls
    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000\\@hooks.example.com/x", "backslash"),
        ("http://hooks.example.com\\.evil.example/", "backslash"),
        ("http://user@hooks.example.com/", "userinfo"),
        ("http://u:p@hooks.example.com/", "userinfo"),
        ("http://hooks.example.com@/", "userinfo"),
        ("http://exa mple.com/", "U+0020"),
        ("http://example.com\t/", "U+0009"),
        ("http://example.com/\r\nX-Injected: 1", "U+000D"),
        ("http://ex\u200bample.com/", "U+200B"),
        ("ftp://example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
        ("//example.com/", "only http and https"),
        ("http:///just-a-path", "no host"),
        ("http://ex\u00e4mple.com/", "IDNA"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://example.com:99999/", "cannot be parsed"),
        ("http://example.com:80:80/", "cannot be parsed"),
        ("", "non-empty"),
    ],
)
def test_it_refuses_urls_the_client_could_read_differently(url, reason):
    resolver = answers(PUBLIC)
    with pytest.raises(SkillError) as caught:
        egress.destination_check(url, allow=NO_ALLOW, resolver=resolver)
    assert caught.value.code == "ERR_DESTINATION_REFUSED"
    assert reason in caught.value.message
    assert resolver.calls == []  # refused before any lookup


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[2002::1]/", "6to4"),
        ("http://[2002:7f00:1::]/", "6to4"),
        ("http://[fec0::1]/", "site-local"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("http://[64:ff9b::7f00:1]/", "NAT64 for 127.0.0.1, which is a loopback address"),
        ("http://[64:ff9b::a00:1]/", "NAT64 for 10.0.0.1"),
        ("http://0.0.0.0/", "0.0.0.0/8"),
        ("http://0.1.2.3/", "0.0.0.0/8"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://255.255.255.255/", "the limited broadcast address"),
        ("http://192.0.0.8/", "192.0.0.0/24"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://[fe80::1]/", "link-local"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fc00::1]/", "private-network"),
        ("http://[::1]:8000/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.1/", "loopback"),
    ],
)
def test_it_refuses_addresses_that_are_not_globally_routable(settings, dns, url, reason):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    with pytest.raises(SkillError) as caught:
        destination_check(url)
    assert caught.value.code == "ERR_DESTINATION_REFUSED"
    assert reason in caught.value.message
    assert "HTTP_CALL_ALLOWED_HOSTS" in caught.value.message


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://127.1/", "loopback"), ("http://[2002::1]/", "6to4"), ("http://10.9.8.7:8080/x", "private-network")],
)
def test_it_refuses_literal_addresses_without_dns_for_simulate(url, reason):
    assert reason in egress.static_refusal(url, NO_ALLOW)


def test_it_checks_every_resolved_address_and_uses_the_first():
    checked = egress.destination_check("https://api.example.com/v1", allow=NO_ALLOW, resolver=answers(PUBLIC))
    assert (checked.scheme, checked.host, checked.port, str(checked.address)) == (
        "https",
        "api.example.com",
        443,
        PUBLIC,
    )
    with pytest.raises(SkillError) as caught:
        egress.destination_check("http://api.example.com/", allow=NO_ALLOW, resolver=answers(PUBLIC, "fec0::1"))
    assert "api.example.com resolves to fec0::1" in caught.value.message


def test_it_allows_nat64_of_a_public_address():
    assert egress.address_refusal(ipaddress.ip_address("64:ff9b::5db8:d70e")) is None  # 93.184.215.14


@pytest.mark.parametrize(
    ("entries", "url", "resolved", "allowed"),
    [
        (["10.0.0.0/8"], "http://10.1.2.3/", "10.1.2.3", True),
        (["10.0.0.0/8"], "http://192.168.1.1/", "192.168.1.1", False),
        (["10.0.0.0/8"], "http://svc.internal/", "10.1.2.3", True),  # a CIDR covers what a name resolves to
        (["fd00::/8"], "http://[fd12::1]/", "fd12::1", True),
        (["[::1]"], "http://[::1]/", "::1", True),
        (["127.0.0.1"], "http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", False),  # not the listed address
        (["hooks.internal"], "http://HOOKS.internal./x", "10.1.2.3", True),
        (["hooks.internal"], "http://other.internal/", "10.1.2.3", False),
        ([" hooks.internal ", ""], "http://hooks.internal/", "10.1.2.3", True),
    ],
)
def test_it_allows_listed_names_addresses_and_cidrs(entries, url, resolved, allowed):
    allow = egress.AllowList.parse(entries)
    resolver = answers(resolved)
    if allowed:
        egress.destination_check(url, allow=allow, resolver=resolver)
    else:
        with pytest.raises(SkillError):
            egress.destination_check(url, allow=allow, resolver=resolver)


def test_it_turns_a_failed_lookup_into_a_retryable_transport_error(dns):
    with pytest.raises(SkillError) as caught:
        egress.destination_check("http://unknown.example/", allow=NO_ALLOW)
    assert (caught.value.code, caught.value.retryable) == ("ERR_TRANSPORT", True)


def test_it_refuses_when_the_client_would_connect_elsewhere_than_checked():
    """The transport's own last word: the prepared request must target exactly the checked host."""
    with LocalServer(lambda *a: (200, {}, b"ok")) as server:
        checked = egress.CheckedDestination(
            scheme="http", host="a.example", port=server.port, address=ipaddress.ip_address("127.0.0.1")
        )
        with pinned_session(checked) as session, pytest.raises(egress.DestinationRefused) as caught:
            session.get(f"http://b.example:{server.port}/", timeout=2)
    assert "not to the checked http://a.example" in caught.value.message
    assert server.requests == []


# --- TLS: the pinned connection still verifies the certificate for the name and sends it as SNI ---


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def tls_server(ca, name, seen_sni):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    context.sni_callback = lambda sock, server_name, ctx: seen_sni.append(server_name)
    return LocalServer(lambda *a: (200, {}, {"tls": True}), tls=context)


def https_get(url, ca):
    resolver = answers("127.0.0.1")
    with ca.cert_pem.tempfile() as ca_file:
        return send(
            method="GET",
            url=url,
            headers=None,
            json_body=None,
            has_body=False,
            timeout_s=5,
            retries=0,
            backoff_ms=0,
            resolver=resolver,
            verify=ca_file,
        )


def test_it_verifies_tls_for_the_name_while_connecting_to_the_checked_address(settings, ca):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.test"]
    seen_sni: list[str] = []
    with tls_server(ca, "hooks.test", seen_sni) as server:
        result = https_get(f"https://hooks.test:{server.port}/x", ca)
    assert (result.status_code, result.body) == (200, {"tls": True})
    assert seen_sni == ["hooks.test"]
    assert server.requests[0]["headers"]["Host"] == f"hooks.test:{server.port}"


def test_it_refuses_a_certificate_for_another_name(settings, ca):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["hooks.test"]
    with tls_server(ca, "other.test", []) as server:
        with pytest.raises(SkillError) as caught:
            https_get(f"https://hooks.test:{server.port}/x", ca)
    assert caught.value.code == "ERR_TRANSPORT"
    assert "hooks.test" in caught.value.message
    assert server.requests == []


# --- deadlines (ctx.deadline, monotonic seconds, once the engine sets it) ---------------------


def ctx_with(deadline):
    return SimpleNamespace(seed=1, timestamp="2025-01-01T00:00:00Z", step_index=0, deadline=deadline)


def test_it_sends_nothing_once_the_deadline_has_passed(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"ok")) as server:
        with pytest.raises(SkillError) as caught:
            HttpCall().execute({"url": server.url}, ctx_with(time.monotonic() - 1))
    assert caught.value.code == "ERR_DEADLINE_EXCEEDED"
    assert server.requests == []


def test_it_never_sleeps_a_backoff_past_the_deadline(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (503, {}, b"down")) as server:
        started = time.monotonic()
        with pytest.raises(SkillError) as caught:
            params = {"url": server.url, "retries": 5, "backoff_ms": 5000}
            HttpCall().execute(params, ctx_with(time.monotonic() + 1.0))
        elapsed = time.monotonic() - started
    assert (caught.value.code, caught.value.retryable) == ("ERR_HTTP_STATUS", False)
    assert "deadline" in caught.value.message
    assert len(server.requests) == 1
    assert elapsed < 1.0


def test_it_caps_the_request_timeout_to_the_time_left(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    release = threading.Event()

    def hang(*args):
        release.wait(3)
        return 200, {}, b"late"

    with LocalServer(hang) as server:
        started = time.monotonic()
        with pytest.raises(SkillError) as caught:
            params = {"url": server.url, "timeout": 30, "retries": 0}
            HttpCall().execute(params, ctx_with(time.monotonic() + 0.3))
        elapsed = time.monotonic() - started
        release.set()
    assert caught.value.code in {"ERR_TIMEOUT", "ERR_DEADLINE_EXCEEDED"}
    assert elapsed < 2.0  # the step's own timeout (30 s) did not apply


def test_it_keeps_working_without_a_deadline(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, {"ok": 1})) as server:
        ctx = SimpleNamespace(seed=1, timestamp="2025-01-01T00:00:00Z", step_index=0)  # no `deadline`
        assert HttpCall().execute({"url": server.url}, ctx).output == {"status_code": 200, "body": {"ok": 1}}


def test_it_reports_the_transport_error_of_a_closed_port(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"")) as server:
        port = server.port
    with pytest.raises(SkillError) as caught:
        HttpCall().execute({"url": f"http://127.0.0.1:{port}/", "retries": 0}, ctx_with(None))
    assert (caught.value.code, caught.value.retryable) == ("ERR_TRANSPORT", True)


# --- what the pinned session sends ------------------------------------------------------------


def test_it_sends_the_checked_name_as_host_whatever_the_plan_says(settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"ok")) as server:
        params = {"url": server.url + "/x", "headers": {"Host": "admin.internal"}}
        HttpCall().execute(params, ctx_with(None))
    assert [r["headers"]["Host"] for r in server.requests] == [f"127.0.0.1:{server.port}"]


def test_it_ignores_proxies_from_the_environment(settings, monkeypatch):
    """An env proxy would make the connection somewhere other than the checked address."""
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"proxy")) as proxy, LocalServer(lambda *a: (200, {}, b"direct")) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        result = HttpCall().execute({"url": server.url + "/x"}, ctx_with(None))
    assert result.output["body"] == "direct"
    assert proxy.requests == []
