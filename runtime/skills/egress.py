"""Where outbound HTTP may go (PRODUCT.md §4, §14): one URL parse, one resolution, every address checked.

A URL is read the way the HTTP client (requests, through urllib3) will read it, and refused when
it carries anything two parsers can disagree on: backslashes, userinfo, whitespace or control
characters, a host that `urlsplit` and `urllib3.util.parse_url` see differently. The host is then
resolved once; every address must be globally routable unless the host name or an address/CIDR
is allow-listed (`HTTP_CALL_ALLOWED_HOSTS`). The caller connects to the returned address and to
nothing else (`runtime.skills._pinned`), so a second DNS answer never matters.

`static_refusal` is the part that needs no DNS (syntax, literal addresses), for simulate.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url
from urllib3.util.connection import allowed_gai_family

from runtime.skills.base import SkillError

ERR_DESTINATION_REFUSED = "ERR_DESTINATION_REFUSED"
DEFAULT_PORTS = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# getaddrinfo's signature: (host, port, family, type) -> [(family, type, proto, canonname, sockaddr)]
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

# Ranges `ipaddress.is_global` misses on Python 3.11 (or that we name for a clearer error), with why.
_NAMED_RANGES: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), why)
    for cidr, why in (
        ("0.0.0.0/8", "in 'this network' (0.0.0.0/8)"),
        ("255.255.255.255/32", "the limited broadcast address"),
        ("100.64.0.0/10", "in carrier-grade NAT (100.64.0.0/10)"),
        ("192.0.0.0/24", "in IETF protocol assignments (192.0.0.0/24)"),
        ("192.88.99.0/24", "in 6to4 relay anycast (192.88.99.0/24)"),
        ("198.18.0.0/15", "in benchmarking (198.18.0.0/15)"),
        ("2002::/16", "in 6to4 (2002::/16), which embeds an IPv4 address"),
        ("fec0::/10", "in deprecated IPv6 site-local (fec0::/10)"),
        ("64:ff9b:1::/48", "in local-use NAT64 (64:ff9b:1::/48)"),
        ("2001:20::/28", "in ORCHIDv2 (2001:20::/28)"),
        ("3fff::/20", "in IPv6 documentation (3fff::/20)"),
        ("5f00::/16", "in IPv6 segment routing (5f00::/16)"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$")


class DestinationRefused(SkillError):
    """The policy refuses this destination; retrying cannot help."""

    def __init__(self, reason: str):
        super().__init__(ERR_DESTINATION_REFUSED, f"Destination refused: {reason}.")
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A URL's target as the HTTP client will see it: lower-case host without brackets, real port."""

    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class CheckedDestination(Destination):
    """A destination whose every resolved address passed the policy; `address` is the one to connect to."""

    address: Address


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Entries are host names, addresses or CIDRs (`HTTP_CALL_ALLOWED_HOSTS`)."""
        hosts, networks = set(), []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_normal_name(entry))
        return cls(frozenset(hosts), tuple(networks))

    @staticmethod
    def invalid_entries(entries: Iterable[str]) -> list[str]:
        """Entries that are neither a host name nor an address/CIDR (they would never match)."""
        bad = []
        for raw in entries:
            entry = raw.strip()
            try:
                ipaddress.ip_network(entry.strip("[]"), strict=False)
            except ValueError:
                if entry and not _HOST_NAME.match(entry):
                    bad.append(raw)
        return bad

    def allows_host(self, host: str) -> bool:
        return _normal_name(host) in self.hosts

    def allows_address(self, ip: Address) -> bool:
        return any(ip in net for net in self.networks)


def _normal_name(host: str) -> str:
    return host.lower().rstrip(".")


def _unsafe_character(url: str) -> str | None:
    for ch in url:
        if ch == "\\":
            return "a backslash (HTTP clients and URL parsers disagree on where its host ends)"
        if unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp"}:
            return f"a control or whitespace character (U+{ord(ch):04X})"
    return None


def parse_destination(url: str) -> Destination:
    """The URL's destination exactly as requests/urllib3 will connect to it, or DestinationRefused."""
    if not isinstance(url, str) or not url:
        raise DestinationRefused("the URL must be a non-empty string")
    if problem := _unsafe_character(url):
        raise DestinationRefused(f"the URL contains {problem}")
    try:
        split = urlsplit(url)
        split_port = split.port
        parsed = parse_url(url)
    except (ValueError, LocationParseError) as exc:
        raise DestinationRefused(f"the URL cannot be parsed ({exc})") from None
    scheme = split.scheme.lower()
    if scheme not in DEFAULT_PORTS or (parsed.scheme or "").lower() != scheme:
        raise DestinationRefused(f"only http and https URLs are allowed, not {split.scheme or 'none'!r}")
    if "@" in split.netloc or parsed.auth is not None:
        raise DestinationRefused("the URL carries userinfo ('user@'); send credentials in headers instead")
    host = (split.hostname or "").strip("[]")
    if not host:
        raise DestinationRefused("the URL has no host")
    if not host.isascii():
        raise DestinationRefused("the host name is not ASCII; write it in its IDNA (xn--) form")
    if "%" in host:
        raise DestinationRefused("IPv6 zone identifiers are not allowed")
    client_host = (parsed.host or "").strip("[]").lower()
    port = split_port or DEFAULT_PORTS[scheme]
    if client_host != host or (parsed.port or DEFAULT_PORTS[scheme]) != port:
        raise DestinationRefused(
            f"URL parsers disagree on the destination ({host}:{port} vs {client_host}:{parsed.port or port})"
        )
    return Destination(scheme=scheme, host=host, port=port)


def literal_address(host: str) -> Address | None:
    """`host` as an address when it is one, including legacy IPv4 forms (`127.1`, `0x7f.1`, `2130706433`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # parses only, never resolves
        except OSError:
            return None
    return None


def address_refusal(ip: Address) -> str | None:
    """What keeps `ip` from being a globally routable unicast address ("a loopback address"), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"an IPv4-mapped IPv6 address (of {ip.ipv4_mapped})"
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            inner = address_refusal(embedded)
            return f"NAT64 for {embedded}, which is {inner}" if inner else None
    for network, why in _NAMED_RANGES:
        if ip in network:
            return why
    for flag, what in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, flag):
            return what
    if not ip.is_global:
        return "not globally routable"
    return None


def _refusal_for(ip: Address, allow: AllowList, *, name: str | None = None) -> str | None:
    if allow.allows_address(ip):
        return None
    what = address_refusal(ip)
    if what is None:
        return None
    subject = f"{name} resolves to {ip}, which is" if name else f"{ip} is"
    return f"{subject} {what}; allow-list it in HTTP_CALL_ALLOWED_HOSTS to reach it"


def static_refusal(url: str, allow: AllowList) -> str | None:
    """The refusal that needs no DNS: syntax, and a literal address that is neither public nor allowed."""
    try:
        destination = parse_destination(url)
    except DestinationRefused as refused:
        return refused.reason
    if allow.allows_host(destination.host):
        return None
    ip = literal_address(destination.host)
    return None if ip is None else _refusal_for(ip, allow)


def system_resolver(host: str, port: int, family: int, type: int) -> Sequence[tuple[Any, ...]]:
    """The OS resolver, looked up at call time so a test can stand in for it."""
    return socket.getaddrinfo(host, port, family, type)


def _resolve(destination: Destination, resolver: Resolver) -> list[Address]:
    try:
        infos = resolver(destination.host, destination.port, allowed_gai_family(), socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SkillError("ERR_TRANSPORT", f"Cannot resolve {destination.host}: {exc}", retryable=True) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise SkillError("ERR_TRANSPORT", f"{destination.host} resolved to no address", retryable=True)
    return addresses


def destination_check(url: str, *, allow: AllowList, resolver: Resolver = system_resolver) -> CheckedDestination:
    """Parses `url`, resolves its host once, and checks every address; the first is the one to use."""
    destination = parse_destination(url)
    literal = literal_address(destination.host)
    addresses = [literal] if literal is not None else _resolve(destination, resolver)
    if not allow.allows_host(destination.host):
        name = None if literal is not None else destination.host
        for ip in addresses:
            if reason := _refusal_for(ip, allow, name=name):
                raise DestinationRefused(reason)
    return CheckedDestination(
        scheme=destination.scheme, host=destination.host, port=destination.port, address=addresses[0]
    )
