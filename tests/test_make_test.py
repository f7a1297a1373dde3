"""`make test` as the README shows it: two xdist workers by default, TEST_WORKERS=0 in one process, a part with
PYTEST_ARGS, and a run that collects nothing fails (pytest's exit code 5 must not pass as green)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PART = "tests/test_import_direction.py -q -p no:cacheprovider"  # needs no database: nothing to create twice


def make(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return subprocess.run(["make", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_it_runs_the_suite_on_two_workers_each_with_its_own_redis_database():
    dry = make("-n", "test")
    assert dry.returncode == 0, dry.stderr
    assert "-m pytest -p tests.xdist_env -n 2 --dist loadfile" in dry.stdout


def test_it_runs_a_part_in_one_process_with_test_workers_0():
    result = make("test", "TEST_WORKERS=0", f"PYTEST_ARGS={PART}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "bringing up nodes" not in result.stdout


def test_it_fails_when_no_test_is_collected():
    result = make("test", f"PYTEST_ARGS={PART} -k no_such_test_anywhere")
    assert result.returncode != 0
    assert "no tests ran" in result.stdout and "bringing up nodes" in result.stdout
    assert "Error 5" in result.stderr  # pytest's "no tests collected", passed on by make
