"""Settings for PostgreSQL behind PgBouncer in transaction mode (docs/operations.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.deploy.deployfiles import ROOT

PRINT_DATABASE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({k: db.get(k) for k in ('CONN_MAX_AGE', 'DISABLE_SERVER_SIDE_CURSORS')}))"
)


def _database(**variables: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="aosproject.settings", AOS_ENV_FILE=os.devnull, **variables)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, {"CONN_MAX_AGE": 60, "DISABLE_SERVER_SIDE_CURSORS": False}),
        (
            {"DB_DISABLE_SERVER_SIDE_CURSORS": "1", "DB_CONN_MAX_AGE": "0"},
            {"CONN_MAX_AGE": 0, "DISABLE_SERVER_SIDE_CURSORS": True},
        ),
    ],
)
def test_it_turns_server_side_cursors_off_for_a_transaction_pooler(variables, expected):
    url = "postgres://aos:pw@pgbouncer:6432/aos"
    assert _database(DATABASE_URL=url, **variables) == expected
