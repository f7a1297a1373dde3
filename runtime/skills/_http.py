"""Outbound HTTP for skills, in one place: destination policy, timeout, retries with backoff.

Private, loopback, link-local, reserved and multicast destinations are refused unless the host
or a CIDR containing its address is in settings.HTTP_CALL_ALLOWED_HOSTS (SSRF protection).
Redirects are not followed (a redirect could lead to a refused destination).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from runtime.skills.base import SkillError

MAX_BODY_CHARS = 65536
USER_AGENT = "aos-control-plane/1.0"


@dataclass(frozen=True)
class HttpResult:
    status_code: int
    body: Any  # parsed JSON when the response is JSON, else text (truncated)
    retries: int


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _allow_list() -> tuple[set[str], list[Network]]:
    hosts: set[str] = set()
    networks: list[Network] = []
    for entry in settings.HTTP_CALL_ALLOWED_HOSTS:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return hosts, networks


def _forbidden(ip: Address) -> bool:
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def destination_check(url: str) -> None:
    """Raises ERR_DESTINATION_REFUSED for non-http(s) URLs and disallowed private destinations."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SkillError("ERR_DESTINATION_REFUSED", f"Only http(s) URLs with a host are allowed: {url!r}")
    host = parts.hostname.lower()
    hosts, networks = _allow_list()
    if host in hosts:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SkillError("ERR_TRANSPORT", f"Cannot resolve {host}: {exc}", retryable=True)
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if any(ip in net for net in networks):
            continue
        if _forbidden(ip):
            raise SkillError(
                "ERR_DESTINATION_REFUSED",
                f"{host} resolves to {ip}, a private/loopback/link-local address; allow-list it in "
                "HTTP_CALL_ALLOWED_HOSTS to reach it.",
            )


def _body(response: requests.Response) -> Any:
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text[:MAX_BODY_CHARS]


def send(
    *,
    method: str,
    url: str,
    headers: dict[str, str] | None,
    json_body: Any,
    timeout_s: float,
    retries: int,
    backoff_ms: int,
    has_body: bool,
) -> HttpResult:
    """One logical call: retried on 5xx and transport errors (with exponential backoff), never on 4xx."""
    destination_check(url)
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    attempt = 0
    while True:
        try:
            response = requests.request(
                method,
                url,
                headers=merged,
                json=json_body if has_body else None,
                timeout=timeout_s,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            error = SkillError("ERR_TIMEOUT", f"No response within {timeout_s}s: {exc}", retryable=True)
        except requests.RequestException as exc:
            error = SkillError("ERR_TRANSPORT", f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            result = HttpResult(status_code=response.status_code, body=_body(response), retries=attempt)
            output = {"status_code": result.status_code, "body": result.body}
            if response.status_code < 400:
                return result
            if response.status_code < 500:  # 4xx: the request itself is wrong; retrying cannot help
                raise SkillError("ERR_HTTP_STATUS", f"HTTP {response.status_code}", output=output, retries=attempt)
            error = SkillError("ERR_HTTP_STATUS", f"HTTP {response.status_code}", retryable=True, output=output)
        if attempt >= retries:
            error.retries = attempt
            raise error
        time.sleep(backoff_ms * (2**attempt) / 1000.0)
        attempt += 1
