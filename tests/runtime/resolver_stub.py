"""A scripted stand-in for the OS resolver (`socket.getaddrinfo`), so no DNS query leaves the machine.

Scripted names answer from their list of answers in turn (the last one repeats), which is how a
test plays DNS rebinding. Address literals and `localhost` go to the real resolver (no traffic);
any other name fails as an unknown name. Every lookup is recorded in `lookups`.

The fixture also refuses (and records in `off_loopback`) any TCP connect to an address outside
loopback, so even code that trusts a scripted public answer sends nothing off this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

_real_getaddrinfo = socket.getaddrinfo


class ScriptedResolver:
    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.off_loopback: list[Any] = []

    def script(self, name: str, *answers: list[str]) -> None:
        """`name` answers `answers[0]` first, then `answers[1]`..., then the last one again."""
        self.answers[name.lower()] = [list(a) for a in answers]

    def count(self, name: str) -> int:
        return self.lookups.count(name.lower())

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0, *args: Any) -> list[tuple[Any, ...]]:
        name = str(host).lower()
        self.lookups.append(name)
        if name in self.answers:
            queue = self.answers[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [_info(address, int(port or 0)) for address in addresses]
        if name == "localhost" or _is_address(name):
            return _real_getaddrinfo(host, port, family, type, *args)
        raise socket.gaierror(socket.EAI_NONAME, f"{name}: not scripted in this test")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    try:
        return ipaddress.ip_address(str(address[0]).strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture
def dns(monkeypatch) -> ScriptedResolver:
    """Replaces the OS resolver for the test: both the policy's lookup and urllib3's connect use it."""
    resolver = ScriptedResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            resolver.off_loopback.append(address)
            raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return resolver
