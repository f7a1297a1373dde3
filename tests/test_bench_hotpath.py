"""bench/bench_hotpath.py runs end to end, briefly (embedded default): a smoke test, no speed asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_times_every_case_in_process():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    args = [sys.executable, "bench/bench_hotpath.py", "--requests", "20", "--batch", "10", "--runs"]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True).stdout
    rows = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ") and "µs" not in line}
    assert rows == {"health", "me", "simulate", "runs"}, out


def test_it_profiles_one_case():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    args = [sys.executable, "bench/bench_hotpath.py", "--requests", "10", "--profile", "simulate", "--top", "5"]
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "Ordered by: cumulative time" in out and "django/test/client.py" in out, out
