"""`make test`'s workers each get their own Redis database (tests/xdist_env.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.xdist_env import GIVEN, worker_redis_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/15", "gw0", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379/15", "gw1", "redis://127.0.0.1:6379/14"),
        ("redis://127.0.0.1:6379/0", "gw1", "redis://127.0.0.1:6379/15"),
        ("redis://127.0.0.1:6379", "gw2", "redis://127.0.0.1:6379/14"),
        ("redis://:pw@cache:6380/3?socket_timeout=1", "gw1", "redis://:pw@cache:6380/2?socket_timeout=1"),
    ],
)
def test_it_gives_each_worker_its_own_database(url, worker, expected):
    assert worker_redis_url(url, worker) == expected


def test_it_rewrites_the_url_before_the_settings_are_read():
    """As a worker sees it: the environment's REDIS_URL is rewritten at import, Django then reads the new one."""
    code = (
        "import tests.xdist_env, os, django; django.setup();"
        "from django.conf import settings as s; print(os.environ['REDIS_URL'], s.REDIS_URL, s.CELERY_BROKER_URL)"
    )
    env = {
        **os.environ,
        "PYTEST_XDIST_WORKER": "gw1",
        "REDIS_URL": "redis://127.0.0.1:6379/9",
        "DJANGO_SETTINGS_MODULE": "aosproject.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop(GIVEN, None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["redis://127.0.0.1:6379/8"] * 3


def test_this_worker_uses_the_database_its_name_gives():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (worker and settings.REDIS_URL):
        pytest.skip("runs under `make test` on Redis (xdist workers)")
    assert settings.REDIS_URL == os.environ["REDIS_URL"] == worker_redis_url(os.environ[GIVEN], worker)
