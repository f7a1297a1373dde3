"""Structured logs (issue 16, finding 8): JSON lines with request, tenant, principal, run ids and durations."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import subprocess
import sys

import pytest
import requests

from accounts.models import Role
from aosproject import log_context
from tests.conftest import client_with_key
from tests.procs import GUNICORN_BIN, ROOT, child_env, free_port, running, wait_for
from tests.runtime.helpers import RUNS, TS, pure_plan


def json_lines(text: str) -> list[dict]:
    """Every line must be JSON: a plain-text line would break log shippers."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def web(tmp_path, transactional_db):
    """A real gunicorn (deploy/gunicorn.conf.py) logging JSON, on this test's database."""
    port = free_port()
    args = [GUNICORN_BIN, "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "1"]
    env = child_env(LOG_FORMAT="json")
    with running(args, log_path=tmp_path / "gunicorn.log", env=env, url=f"http://127.0.0.1:{port}") as proc:
        wait_for(lambda: requests.get(f"{proc.url}/health", timeout=2).status_code < 500, timeout=30, what="gunicorn")
        yield proc


def app_lines(proc) -> list[dict]:
    """Every line of the stream, gunicorn's own included (deploy/gunicorn.conf.py logconfig_dict)."""
    return json_lines(proc.log_path.read_text())


def access_line(proc, request_id: str) -> dict:
    def found():
        return [
            line
            for line in app_lines(proc)
            if line["logger"] == "aosproject.request_log" and line["request_id"] == request_id
        ]

    [line] = wait_for(found, timeout=10, what=f"the access line of {request_id}", log=proc.log_path)
    return line


def test_it_logs_json_access_lines_with_request_tenant_principal_and_duration(web, tenant_a):
    client = client_with_key(tenant_a, Role.DEVELOPER)
    raw_key = client.raw_key
    headers = {"Authorization": f"Bearer {raw_key}", "X-Request-ID": "req-abc.123"}
    response = requests.get(f"{web.url}/api/v1/me", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc.123"  # the caller's id, honoured

    line = access_line(web, "req-abc.123")
    assert line["level"] == "INFO" and line["method"] == "GET" and line["path"] == "/api/v1/me"
    assert line["status"] == 200 and isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["tenant"] == tenant_a.slug
    assert line["principal"].startswith("api_key:") and line["principal"] in f"api_key:{raw_key}"
    assert line["time"]
    assert {"gunicorn.error"} <= {entry["logger"] for entry in app_lines(web)}  # gunicorn's start-up, as JSON

    # A run: its id (not in the URL of POST /runs) is on the line, and on the detail request's line.
    # Queued (no worker here): the creation binds its ids.
    body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "seed": 1, "timestamp": TS, "wait": False}
    created = requests.post(f"{web.url}{RUNS}", json=body, headers={**headers, "X-Request-ID": "req-run"}, timeout=30)
    assert created.status_code in (201, 202), created.text
    run_id = created.json()["run_id"]
    assert access_line(web, "req-run")["run_id"] == run_id
    detail = requests.get(f"{web.url}{RUNS}/{run_id}", headers={**headers, "X-Request-ID": "req-detail"}, timeout=10)
    assert detail.status_code == 200
    assert access_line(web, "req-detail")["run_id"] == run_id

    # No secret in any line: neither the API key nor the bearer header.
    log = web.log_path.read_text()
    assert raw_key not in log and "Bearer" not in log


def test_it_replaces_an_implausible_request_id_and_ids_anonymous_requests(web):
    forged = "x" * 129
    response = requests.get(f"{web.url}/api/v1/me", headers={"X-Request-ID": forged}, timeout=10)
    assert response.status_code == 401
    generated = response.headers["X-Request-ID"]
    assert generated != forged and len(generated) == 32
    line = access_line(web, generated)
    assert line["status"] == 401 and line["tenant"] is None and line["principal"] is None
    spaced = requests.get(f"{web.url}/api/v1/me", headers={"X-Request-ID": 'a" b'}, timeout=10)
    assert spaced.headers["X-Request-ID"] != 'a" b'
    plain = requests.get(f"{web.url}/api/v1/me", timeout=10)
    assert len(plain.headers["X-Request-ID"]) == 32


def test_it_prints_the_request_id_in_text_lines():
    stream = io.StringIO()
    config = log_context.logging_config(log_format="text", level="INFO")
    config["handlers"]["console"]["stream"] = stream
    config["root"] = {"handlers": ["console"], "level": "INFO"}
    logger = logging.getLogger("tests.text_format")
    try:
        logging.config.dictConfig(config)
        with log_context.bound(request_id="r-42", run_id="run_x"):
            logger.info("hello")
    finally:
        from django.conf import settings

        logging.config.dictConfig(settings.LOGGING)
    assert "[req=r-42] hello" in stream.getvalue()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "0", "SECRET_KEY": "k" * 50}, "json"),
        ({"DEBUG": "1"}, "text"),
        ({"DEBUG": "1", "LOG_FORMAT": "json"}, "json"),
        ({"DEBUG": "0", "SECRET_KEY": "k" * 50, "LOG_FORMAT": "TEXT"}, "text"),
    ],
)
def test_it_logs_json_when_debug_is_off_and_text_otherwise(env, expected):
    script = "from django.conf import settings; print(settings.LOG_FORMAT)"
    base = {k: v for k, v in child_env().items() if k not in {"DEBUG", "LOG_FORMAT", "SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_it_reports_an_unknown_log_format_as_a_system_check_error(settings):
    from aosproject.checks import check_configuration

    settings.LOG_FORMAT_RAW = "xml"
    assert "aos.E050" in {m.id for m in check_configuration(None)}
