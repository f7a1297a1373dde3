"""PostgreSQL connections dropped under the real web tier (issue 17, fault injection).

gunicorn (deploy/gunicorn.conf.py, persistent connections as configured by DATABASE_URL) serves
the test database; its connections carry `application_name=aos-fault-web`, so the test can
`pg_terminate_backend` exactly those. Requests in flight (held on a table lock this test takes)
and requests while the database refuses connections answer 503 `service_unavailable` in the error
envelope, never a 500 or a hang; afterwards the same processes serve again, with no restart.
PostgreSQL only: SQLite has no server connections to drop.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from accounts.models import Role
from tests.conftest import client_with_key
from tests.faults.stack import child_env, web
from tests.runtime.helpers import RUNS, pure_plan

APP = "aos-fault-web"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL (DATABASE_URL): pg_terminate_backend drops server connections, SQLite has none",
    ),
]


def _admin() -> psycopg.Connection:
    """A connection of the test's own to the maintenance database (never terminated)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _terminate(admin: psycopg.Connection) -> int:
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
        (APP, connection.settings_dict["NAME"]),
    ).fetchall()
    return len(rows)


def _web_env() -> dict[str, str]:
    env = child_env(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER="1", DEBUG="0", SECRET_KEY="fault-test-secret")
    env["DATABASE_URL"] += f"?application_name={APP}"
    env["AOS_SECRETS_KEYS"] = "x" * 43 + "="
    return env


def _calls(url: str, headers: dict, n: int) -> list:
    """n requests at once (alternating GET and POST /runs); (status, body, seconds) each."""
    out: list = [None] * n

    def hit(i: int) -> None:
        started = time.monotonic()
        try:
            if i % 2:
                r = requests.post(f"{url}{RUNS}", json={"plan": pure_plan(), "wait": True}, headers=headers, timeout=20)
            else:
                r = requests.get(f"{url}{RUNS}", headers=headers, timeout=20)
            out[i] = (r.status_code, r.json(), time.monotonic() - started)
        except (requests.RequestException, ValueError) as exc:
            out[i] = (repr(exc), None, time.monotonic() - started)

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    return threads, out  # type: ignore[return-value]


def _waiting_on_lock(admin: psycopg.Connection, n: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (waiting,) = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'", (APP,)
        ).fetchone()
        if waiting >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} requests waited on the lock")


def test_it_answers_503_for_requests_in_flight_when_their_connections_are_dropped(transactional_db, tmp_path, tenant_a):
    headers = {"Authorization": f"Bearer {client_with_key(tenant_a, Role.DEVELOPER).raw_key}"}
    with web(tmp_path, _web_env()) as live, _admin() as admin:
        for _ in range(8):  # every worker thread holds a persistent connection
            assert requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=5).status_code == 200
        db = connection.settings_dict
        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
        ) as locker:
            locker.execute("LOCK TABLE traces_trace IN ACCESS EXCLUSIVE MODE")  # listing or storing a run waits
            threads, out = _calls(live.url, headers, 6)
            _waiting_on_lock(admin, 6)
            assert _terminate(admin) >= 6
            for thread in threads:
                thread.join(30)
            locker.rollback()
        statuses = Counter(o[0] for o in out)
        print(f"in flight when dropped: {dict(statuses)}, slowest {max(o[2] for o in out):.2f}s")
        assert statuses == {503: 6}, out
        for status, body, seconds in out:
            assert body["error"] == "service_unavailable" and seconds < 5
        # Recovery, same processes: the dropped connections are replaced.
        after = [requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=5).status_code for _ in range(8)]
        assert after == [200] * 8
        assert requests.get(f"{live.url}/ready", timeout=5).status_code == 200


def test_it_recovers_without_a_restart_when_idle_connections_are_dropped(transactional_db, tmp_path, tenant_a):
    """A failover or PgBouncer restart drops idle persistent connections: no request may fail for it."""
    headers = {"Authorization": f"Bearer {client_with_key(tenant_a, Role.DEVELOPER).raw_key}"}
    with web(tmp_path, _web_env()) as live, _admin() as admin:
        for _ in range(16):
            assert requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=5).status_code == 200
        assert _terminate(admin) >= 1
        time.sleep(0.2)
        after = [requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=5).status_code for _ in range(16)]
        ready = [requests.get(f"{live.url}/ready", timeout=5).status_code for _ in range(8)]
    assert after == [200] * 16 and ready == [200] * 8, (after, ready)


def test_it_answers_503_while_the_database_refuses_connections_and_recovers(transactional_db, tmp_path, tenant_a):
    headers = {"Authorization": f"Bearer {client_with_key(tenant_a, Role.DEVELOPER).raw_key}"}
    name = connection.settings_dict["NAME"]
    body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "wait": True}
    with web(tmp_path, _web_env()) as live, _admin() as admin:
        assert requests.get(f"{live.url}/ready", timeout=5).status_code == 200
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            _terminate(admin)
            started = time.monotonic()
            ready = requests.get(f"{live.url}/ready", timeout=10)
            me = requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=10)
            run = requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=10)
            elapsed = time.monotonic() - started
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert ready.status_code == 503 and ready.json()["failed"] == {"database": "OperationalError"}, ready.text
        assert ready.json()["error"] == "not_ready"
        for response in (me, run):
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "service_unavailable"
            assert response.headers["Retry-After"]
        assert elapsed < 10
        assert requests.get(f"{live.url}/ready", timeout=5).status_code == 200
        assert requests.get(f"{live.url}/api/v1/me", headers=headers, timeout=5).status_code == 200
        assert requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=10).status_code == 201
