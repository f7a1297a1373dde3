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


@pytest.fixture
def broker(transactional_db, own_redis):
    """This process sends tasks to the test's own redis-server (not eager)."""
    from aosproject.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = own_redis.url, False
    app._pool = None
    app.amqp._producer_pool = None
    yield app
    app.conf.broker_url, app.conf.task_always_eager = saved
    app._pool = None
    app.amqp._producer_pool = None
