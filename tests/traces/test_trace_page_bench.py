"""bench/bench_trace_page.py runs end to end, briefly: a smoke test, never a speed assertion.

Its own temporary SQLite file (`--sqlite`), whatever this test run's backend is; a 3-step trace,
two requests a page, today's code against the committed HEAD (`--before`, through `git archive`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_trace_page.py"


def bench(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sqlite", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_it_measures_the_page_before_and_after_in_one_run():
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("no git checkout to export a revision from")
    out = bench("--sizes", "3", "--repeat", "2", "--compare-repeat", "2", "--before", "HEAD")
    assert "admin trace page on sqlite, 2 requests a page after one warm-up (2 a compare view)" in out
    assert "load average before:" in out and "load average after:" in out
    rows = [line for line in out.splitlines() if line.lstrip().startswith("3 |")]
    pages = ["first page, cold cache", "first page", "?step=0", "diverged replay (step 0)", "plan JSON, on demand"]
    pages += ["compare with the replay", "compare, only differing"]
    assert [row.split("|")[1].strip() for row in rows] == [page for page in pages for _ in range(2)]
    assert {row.split("|")[2].strip() for row in rows} == {"before (HEAD)", "after"}
    for row in rows:  # each measured: median, p95, queries, size
        median, p95, queries, kib = (cell.strip() for cell in row.split("|")[3:7])
        assert float(median) > 0 and float(p95) >= float(median) and int(queries) > 0 and float(kib) > 0, row


def test_it_measures_the_compare_view_alone():
    out = bench("--sizes", "3", "--repeat", "2", "--compare-repeat", "2", "--pages", "compare")
    rows = [line for line in out.splitlines() if line.lstrip().startswith("3 |")]
    assert [row.split("|")[1].strip() for row in rows] == ["compare with the replay", "compare, only differing"]
    assert all(int(row.split("|")[5]) > 0 for row in rows)


def test_it_profiles_one_page():
    out = bench("--profile", "3")
    assert "cProfile of 5 requests of the 3-step page" in out and "change_view" in out
