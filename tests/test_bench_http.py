"""bench/bench_http.py runs end to end (`make bench-http`), briefly: a smoke test, never a speed assertion.

One second per endpoint, one round, against both apps under deploy/gunicorn.conf.py on the embedded
default (its own temporary SQLite file, whatever this test run's backend is). What is asserted is
what the harness must always do: every endpoint answered requests and none was an error.
"""

from __future__ import annotations

import shutil

from bench import bench_http


def test_it_drives_the_project_and_the_bare_baseline(monkeypatch, capsys):
    loadgen = "wrk" if shutil.which("wrk") else "python"  # .ci/run installs wrk; a laptop may not have it
    for name in ("DATABASE_URL", "REDIS_URL", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GUNICORN_WORKERS", "1")
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    argv = ["--seconds", "1", "--rounds", "1", "--warmup", "0", "--connections", "2", "--threads", "1"]
    results = bench_http.main([*argv, "--only", "me,simulate", "--loadgen", loadgen])

    assert set(results) == {"hello", "me", "simulate"}
    for name, (result,) in results.items():
        assert result.requests > 0, name
        assert result.errors == 0, name
    table = capsys.readouterr().out
    assert "| me |" in table and "| simulate |" in table and "ratio to hello" in table
