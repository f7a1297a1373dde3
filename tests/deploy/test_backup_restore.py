"""docs/operations.md "Backups and restore": the pg_dump / pg_restore commands, run as written.

PostgreSQL only (the embedded default has no pg_dump): dump the test database with a tenant in it,
restore it into a fresh database, and `migrate --check` there says the schema is complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from accounts.models import Tenant
from tests.deploy.deployfiles import ROOT

pytestmark = pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


def test_it_restores_a_dump_into_a_fresh_database(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("backups are PostgreSQL's (pg_dump); the embedded default is a SQLite file")
    Tenant.objects.create(slug="backed-up", name="Backed up", tier="pro")
    dump = tmp_path / "aos.dump"
    source = _url(connection.settings_dict["NAME"])
    _run(["pg_dump", "--format=custom", "--no-owner", f"--dbname={source}", f"--file={dump}"])
    restored = f"aos_restored_{uuid.uuid4().hex[:8]}"
    _run(["createdb", f"--maintenance-db={_url('postgres')}", restored])
    try:
        _run(["pg_restore", "--no-owner", "--jobs=2", f"--dbname={_url(restored)}", str(dump)])
        check = _run(
            [sys.executable, "manage.py", "migrate", "--check"],
            DATABASE_URL=_url(restored),
            AOS_ENV_FILE=os.devnull,
        )
        assert "error" not in check.stderr.lower()
        rows = _run(["psql", _url(restored), "-Atc", "SELECT slug FROM accounts_tenant WHERE slug = 'backed-up'"])
        assert rows.stdout.strip() == "backed-up"
    finally:
        _run(["dropdb", f"--maintenance-db={_url('postgres')}", "--if-exists", restored])
