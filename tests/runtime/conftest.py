"""Runtime test fixtures: `dns`, the scripted stand-in for the OS resolver (tests/runtime/resolver_stub.py)."""

from tests.runtime.resolver_stub import dns  # noqa: F401
