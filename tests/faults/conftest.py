"""Fixtures of the fault-injection tests: services of their own that a test may kill."""

from __future__ import annotations

import pytest

from tests.faults.stack import OwnRedis, celery_sending_to


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (cache, rate limits, claims, or the broker); killable."""
    server = OwnRedis(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def broker(transactional_db, own_redis):
    """This process sends tasks to the test's own redis-server (not eager)."""
    with celery_sending_to(own_redis.url) as app:
        yield app
