"""Loaded first by `make test` (`-p tests.xdist_env`): each pytest-xdist worker gets a Redis database of its own.

`make test` runs the suite on TEST_WORKERS pytest-xdist workers (2 by default, `--dist loadfile`: a
file's tests stay on one worker, so its module fixtures are built once). pytest-django already gives
each worker its own test database (`test_<name>_gw0`, `_gw1`, ...). Redis has no such suffix, and the
suite empties its Redis database before every test (`cache.clear()` is a FLUSHDB), so two workers on
one database would wipe each other's rate-limit counters, broker queues and cached principals.

This module is imported while pytest reads its command line, before pytest-django imports the
settings, and rewrites REDIS_URL in the worker's environment: worker `gwN` uses database
`(D - N) mod 16` of the same server, where D is the database of the given REDIS_URL (CI's 15: gw0 15,
gw1 14). Processes the tests start (Celery workers, gunicorn, manage.py) inherit the rewritten URL.
The controller process and a run without xdist (`make test TEST_WORKERS=0`) are left as they are.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis.conf's default `databases`
GIVEN = "AOS_TEST_REDIS_URL_GIVEN"  # the URL before the rewrite (rewritten once, also in child processes)


def worker_redis_url(url: str, worker: str) -> str:
    """`redis://host:port/D` for worker `gwN` -> `redis://host:port/((D - N) mod 16)`; query and auth kept."""
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    path = parts.path.strip("/")
    base = int(path) if path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{(base - index) % REDIS_DATABASES}"))


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and os.environ.get("REDIS_URL") and GIVEN not in os.environ:
    os.environ[GIVEN] = os.environ["REDIS_URL"]
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _WORKER)
    if os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
        os.environ["CELERY_BROKER_URL"] = worker_redis_url(os.environ["CELERY_BROKER_URL"], _WORKER)
