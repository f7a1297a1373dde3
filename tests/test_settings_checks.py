"""Configuration mistakes are reported as system checks (aosproject/checks.py), each with its id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error, Warning

from aosproject.checks import check_configuration

ROOT = Path(__file__).resolve().parent.parent


def ids() -> list[str]:
    return sorted(message.id for message in check_configuration(None))


@pytest.fixture
def healthy(settings):
    """A production-shaped configuration that passes every check."""
    settings.DEBUG = False
    settings.SECRET_KEY_FROM_ENV = True
    settings.DATABASE_URL = "postgres://aos@db:5432/aos"
    settings.REDIS_URL = "redis://cache:6379/0"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/realms/aos/protocol/openid-connect/certs"
    settings.OIDC_ISSUER = "https://idp.example/realms/aos"
    settings.OIDC_AUDIENCE = "aos"
    settings.OIDC_SSO_ENABLED = True
    settings.OIDC_RP_CLIENT_SECRET = "s3cret"
    settings.GITHUB_TOKEN = ""
    settings.METRICS_BEARER_TOKEN = "scrape-token"
    settings.INVALID_ENV = []
    settings.AOS_SECRETS_KEYS = ["E8wY9Z0fTQ0B4kq0S3dtbYHvN8n2Xk7YxH0QdG1m0aQ="]
    return settings


def test_it_passes_a_healthy_production_configuration(healthy):
    assert ids() == []


def test_it_requires_secret_key_when_debug_is_off(healthy):
    healthy.SECRET_KEY_FROM_ENV = False
    [problem] = check_configuration(None)
    assert isinstance(problem, Error) and problem.id == "aos.E001"
    assert "SECRET_KEY" in problem.msg and problem.hint


def test_it_refuses_an_unsupported_database_url(healthy):
    healthy.DATABASE_URL = "mysql://aos@db/aos"
    [problem] = check_configuration(None)
    assert problem.id == "aos.E002" and "'mysql'" in problem.msg


def test_it_refuses_a_redis_url_with_another_scheme(healthy):
    healthy.REDIS_URL = "http://cache:6379"
    assert ids() == ["aos.E003"]


@pytest.mark.parametrize("missing", ["OIDC_OP_JWKS_ENDPOINT", "OIDC_ISSUER", "OIDC_AUDIENCE"])
def test_it_reports_half_configured_bearer_verification(healthy, missing):
    setattr(healthy, missing, "")
    [problem] = check_configuration(None)
    assert problem.id == "aos.E004" and missing in problem.msg


def test_it_reports_non_numeric_variables(healthy):
    healthy.INVALID_ENV = ["API_MAX_BODY_BYTES"]
    [problem] = check_configuration(None)
    assert problem.id == "aos.E005" and "API_MAX_BODY_BYTES" in problem.msg


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_it_reports_an_alertmanager_timeout_that_is_not_above_zero(healthy, timeout):
    healthy.ALERTMANAGER_TIMEOUT = timeout
    [problem] = check_configuration(None)
    assert problem.id == "aos.E006" and "ALERTMANAGER_TIMEOUT" in problem.msg


@pytest.mark.parametrize("depth", [0, 1])
def test_it_reports_a_json_depth_limit_too_small_for_a_plan(healthy, depth):
    healthy.API_MAX_JSON_DEPTH = depth
    [problem] = check_configuration(None)
    assert problem.id == "aos.E012" and "API_MAX_JSON_DEPTH" in problem.msg


@pytest.mark.parametrize("entry", ["https://hooks.example.com", "hooks.example.com:8443", "10.0.0.0/33", "a b", "-x."])
def test_it_reports_an_allow_list_entry_that_can_never_match(healthy, entry):
    healthy.HTTP_CALL_ALLOWED_HOSTS = ["hooks.internal", "10.0.0.0/8", "[::1]", "localhost.", entry]
    [problem] = check_configuration(None)
    assert problem.id == "aos.E040" and repr(entry) in problem.msg


def test_it_warns_about_sso_without_a_client_secret(healthy):
    healthy.OIDC_RP_CLIENT_SECRET = ""
    [problem] = check_configuration(None)
    assert isinstance(problem, Warning) and problem.id == "aos.W001"


def test_it_warns_about_a_github_token_without_a_repo(healthy):
    healthy.GITHUB_TOKEN = "ghp_x"
    healthy.GITHUB_REPO = ""
    assert ids() == ["aos.W002"]
    healthy.GITHUB_REPO = "acme/agents"
    assert ids() == []


@pytest.mark.parametrize("entry", ["https://github.com/acme", "acme/*", "acme/agents/extra", "a cme"])
def test_it_refuses_a_malformed_github_repo_allowlist_entry(healthy, entry):
    healthy.GITHUB_REPO_ALLOWLIST = ["acme", entry]
    [problem] = check_configuration(None)
    assert isinstance(problem, Error) and problem.id == "aos.E020" and entry in problem.msg
    healthy.GITHUB_REPO_ALLOWLIST = ["acme", "globex/agents"]
    assert ids() == []


@pytest.mark.parametrize(("metrics_open", "fragment"), [(False, "answers 403"), (True, "open to anyone")])
def test_it_warns_about_metrics_with_neither_token_nor_ip_list_in_production(healthy, metrics_open, fragment):
    healthy.METRICS_BEARER_TOKEN = ""
    healthy.METRICS_ALLOWED_IPS = []
    healthy.METRICS_OPEN = metrics_open
    [problem] = check_configuration(None)
    assert isinstance(problem, Warning) and problem.id == "aos.W020" and fragment in problem.msg
    healthy.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert ids() == []


@pytest.mark.parametrize(("limit", "minutes"), [(0, 15), (5, 0)])
def test_it_refuses_a_login_throttle_that_cannot_lock(healthy, limit, minutes):
    from datetime import timedelta

    healthy.AXES_FAILURE_LIMIT = limit
    healthy.AXES_COOLOFF_TIME = timedelta(minutes=minutes)
    assert ids() == ["aos.E021"]


@pytest.mark.parametrize(("cache_seconds", "poll_seconds"), [(-1, 1), (61, 1), (5, 0), (5, 6)])
def test_it_refuses_principal_cache_bounds_that_do_not_hold(healthy, cache_seconds, poll_seconds):
    healthy.AOS_PRINCIPAL_CACHE_SECONDS = cache_seconds
    healthy.AOS_PRINCIPAL_VERSION_POLL_SECONDS = poll_seconds
    assert ids() == ["aos.E075"]


def test_it_accepts_the_principal_cache_off(healthy):
    healthy.AOS_PRINCIPAL_CACHE_SECONDS = 0
    assert ids() == []


def test_it_warns_about_production_without_login_throttling(healthy):
    healthy.AXES_ENABLED = False
    assert ids() == ["aos.W021"]


def test_it_warns_about_production_without_redis(healthy):
    healthy.REDIS_URL = ""
    assert ids() == ["aos.W003"]


def test_it_reports_nothing_for_the_embedded_default():
    """Run in a clean process: nothing set at all must give no aos.* message."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "OIDC_", "DEBUG"))}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "aos." not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"DEBUG": "0"}, "aos.E001"),
        ({"API_MAX_BODY_BYTES": "five-megs"}, "aos.E005"),
        ({"ALERTMANAGER_TIMEOUT": "soon"}, "aos.E005"),
        ({"ALERTMANAGER_TIMEOUT": "0"}, "aos.E006"),
        ({"DATABASE_URL": "mysql://x@127.0.0.1/x"}, "aos.E002"),
        ({"HTTP_CALL_ALLOWED_HOSTS": "hooks.internal,http://hooks.internal/"}, "aos.E040"),
    ],
)
def test_it_fails_manage_py_check_for_a_bad_environment(variables, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "OIDC_", "DEBUG"))}
    env.pop("SECRET_KEY", None)
    env.update(variables)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert expected in result.stderr


def test_it_lists_every_settings_variable_in_env_example():
    import re

    read = set(
        re.findall(r'env(?:_int|_bool|_list)?\(\s*"([A-Z][A-Z0-9_]*)"', (ROOT / "aosproject/settings.py").read_text())
    )
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert len(read) > 30
    assert read - listed == set()


def _import_wsgi(**variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "OIDC_", "DEBUG"))}
    env.pop("SECRET_KEY", None)
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", "import aosproject.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_it_refuses_to_serve_wsgi_with_a_configuration_error():
    refused = _import_wsgi(DEBUG="0")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: aos.E001: SECRET_KEY is not set while DEBUG is off." in refused.stderr
    keys = "E8wY9Z0fTQ0B4kq0S3dtbYHvN8n2Xk7YxH0QdG1m0aQ="
    assert _import_wsgi(DEBUG="0", SECRET_KEY="x" * 50, AOS_SECRETS_KEYS=keys).returncode == 0
    assert "aos.E013" in _import_wsgi(DEBUG="0", SECRET_KEY="x" * 50).stderr
    assert _import_wsgi().returncode == 0


@pytest.mark.parametrize("name", ["AOS_RUN_DEADLINE_SECONDS", "AOS_MAX_CONCURRENT_RUNS", "AOS_MAX_EXPRESSION_DEPTH"])
def test_it_refuses_an_execution_limit_that_is_not_positive(healthy, name):
    setattr(healthy, name, 0)
    [problem] = check_configuration(None)
    assert (problem.id, name in problem.msg) == ("aos.E030", True)


def test_it_refuses_a_run_wait_that_outlasts_the_web_timeout(healthy):
    healthy.AOS_RUN_WAIT_SECONDS, healthy.GUNICORN_TIMEOUT = 30, 30
    [problem] = check_configuration(None)
    assert problem.id == "aos.E031"
