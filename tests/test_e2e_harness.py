"""The `make e2e` / `make load` harness (e2e/): its configs render and pass the vendors' own checks, the README's
two commands run on a small configuration, and a stack stopped by a signal leaves nothing behind.

The long suite itself (e2e/test_production_shape.py) is not collected by `make test` (testpaths = tests).
The three stack runs need PostgreSQL (the harness creates and drops its own database on the server): they run
in the PostgreSQL pass of `.ci/run` and are skipped on the embedded default.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from django.db import connection

from e2e.stack import (
    HTTPS_ONLY_CHECKS,
    ROOT,
    Ports,
    Secrets,
    missing_tools,
    pg_server_url,
    render_alertmanager_config,
    render_prometheus_config,
    stack_env,
)

needs_tools = pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the stack runs on PostgreSQL; this is the PostgreSQL pass's test")


def test_it_renders_a_prometheus_config_that_promtool_accepts(tmp_path):
    ports = Ports()
    token = tmp_path / "token"
    token.write_text("t")
    path = tmp_path / "prometheus.yml"
    path.write_text(render_prometheus_config(ports=ports, token_file=token))
    result = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(path.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {
        "aos-web": [f"127.0.0.1:{ports.web}"],
        "aos-worker": [f"127.0.0.1:{ports.worker_metrics}"],
        "aos-pushgateway": [f"127.0.0.1:{ports.pushgateway}"],
    }
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [f"127.0.0.1:{ports.alertmanager}"]


@needs_tools
def test_it_renders_the_alertmanager_config_that_amtool_accepts_and_routes(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        render_alertmanager_config(
            aos_base_url="http://127.0.0.1:1", sink_url="http://127.0.0.1:2", secrets_dir=tmp_path
        )
    )
    check = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    routes = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={path}", "severity=warning", "alertname=AOSE2E"],
        capture_output=True,
        text=True,
    )
    assert routes.stdout.strip() == "slack-and-aos"
    text = path.read_text()
    assert "http://127.0.0.1:1/api/v1/alerts/webhook" in text and "/etc/alertmanager" not in text


def test_it_is_clean_under_check_deploy_with_the_stack_environment_apart_from_https(tmp_path):
    env = stack_env(
        ports=Ports(),
        keys=Secrets(),
        database_url=f"{pg_server_url()}/aos_e2e_never_created",
        github_url="http://127.0.0.1:9",
        github_token="t",
        workdir=tmp_path,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    found = {line.split("(")[1].split(")")[0] for line in result.stderr.splitlines() if line.startswith("?: (")}
    assert found == set(HTTPS_ONLY_CHECKS), result.stderr


def _leftovers(workdir: str) -> list[int]:
    """Processes whose environment still names the stack's work directory (every stack process has it)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if workdir.encode() in (proc / "environ").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _databases(name: str) -> list[str]:
    with psycopg.connect(f"{pg_server_url()}/postgres", autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname = %s", (name,))]


def _run_make(target: list[str], tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    state_file = tmp_path / "state.json"
    full_env = {**os.environ, "E2E_STATE_FILE": str(state_file), **env}
    argv = ["make", "--no-print-directory", *target]
    result = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600)
    return result, json.loads(state_file.read_text())


@needs_tools
def test_it_runs_make_e2e_and_stops_everything(tmp_path):
    """The README's `make e2e`, on one test of the suite: stack up, suite, e2e_report, everything gone."""
    needs_postgres()
    result, state = _run_make(["e2e", "E2E_ARGS=-k serves_health"], tmp_path, E2E_JUNIT=str(tmp_path / "junit.xml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Result: PASSED" in result.stdout and "1 test: 1 passed" in result.stdout
    assert _leftovers(state["workdir"]) == [] and _databases(state["database"]) == []
    assert not Path(state["workdir"]).exists()


@needs_tools
def test_it_runs_make_load_and_saves_the_report(tmp_path):
    """The README's `make load`, for 10 s per phase with 2 users; the report lands in LOAD_RESULTS_DIR."""
    needs_postgres()
    result, state = _run_make(["load", "LOAD_SECONDS=10", "LOAD_USERS=2"], tmp_path, LOAD_RESULTS_DIR=str(tmp_path))
    # Exit 1 = an SLO failed under --strict: on a busy machine that can be latency, which a test never asserts.
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    [report] = tmp_path.glob("*/report.md")
    text = report.read_text()
    for fact in ("| cores | ", "| python | ", "| postgresql | ", "| redis | ", "simulate p95 < 50 ms"):
        assert fact in text
    summary = json.loads(report.with_name("results.json").read_text())
    assert summary["slo_report"]["exit_code"] == result.returncode
    slo = summary["slo_report"]["text"]
    for name in ("error rate", "availability", "parity failures"):
        assert re.search(rf"^{name} .* PASS$", slo, re.MULTILINE), slo
    simulate = next(row for row in summary["phases"]["mixed"] if row["name"] == "simulate")
    assert simulate["requests"] > 0 and simulate["failures"] == 0
    assert _leftovers(state["workdir"]) == [] and _databases(state["database"]) == []


@needs_tools
def test_it_stops_everything_when_the_run_is_terminated(tmp_path):
    """SIGTERM to `make load`'s process group mid-run (a cancelled CI job): every process and the database go."""
    needs_postgres()
    state_file = tmp_path / "state.json"
    env = {**os.environ, "E2E_STATE_FILE": str(state_file), "LOAD_RESULTS_DIR": str(tmp_path / "results")}
    make = subprocess.Popen(
        ["make", "--no-print-directory", "load", "LOAD_SECONDS=120", "LOAD_USERS=1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not state_file.exists():
            assert make.poll() is None and time.monotonic() < deadline, "the stack never came up"
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        assert _leftovers(state["workdir"])
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=120)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    assert make.returncode != 0
    assert not (tmp_path / "results").exists()  # nothing reported for a run that did not finish
    # make exits at once; the harness (its orphan now) is still stopping the stack for a few seconds.
    deadline = time.monotonic() + 60
    while (_leftovers(state["workdir"]) or _databases(state["database"])) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _leftovers(state["workdir"]) == [] and _databases(state["database"]) == []
