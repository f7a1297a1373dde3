"""Fixtures of the fault-injection tests: services of their own that a test may kill."""

from __future__ import annotations

import pytest

from tests.faults.stack import OwnRedis


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (cache, rate limits, claims, or the broker); killable."""
    server = OwnRedis(tmp_path)
    yield server
    server.kill()
