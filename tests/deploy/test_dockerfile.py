"""deploy/Dockerfile and .dockerignore, checked without a Docker daemon (none runs here).

Parsed with dockerfile-parse: multi-stage, slim, non-root, HEALTHCHECK, static files collected,
nothing secret baked in. Its CMD is then started here exactly as written (embedded default,
DEBUG=0, a free loopback port) and must answer 200 on /health.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from tests.deploy.deployfiles import ROOT, dockerfile, final_stage
from tests.procs import free_port, running, wait_for

SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE|CREDENTIAL|AOS_SECRETS_KEYS|DATABASE_URL")


def _instructions(stage: list[dict], name: str) -> list[str]:
    return [item["value"] for item in stage if item["instruction"] == name]


def _exec_form(value: str) -> list[str]:
    return json.loads(value) if value.strip().startswith("[") else shlex.split(value)


def test_it_is_multi_stage_with_a_slim_final_image():
    parser = dockerfile()
    froms = _instructions(parser.structure, "FROM")
    assert len(froms) >= 2, froms
    assert parser.baseimage.startswith("python:") and "-slim" in parser.baseimage, parser.baseimage
    final = final_stage(parser)
    copies = _instructions(final, "COPY")
    assert any(c.startswith("--from=builder /opt/venv") for c in copies), copies
    # The builder installs requirements.txt only: test tooling stays out of the image.
    builder_runs = " ".join(_instructions(parser.structure[: len(parser.structure) - len(final)], "RUN"))
    assert "requirements.txt" in builder_runs and "requirements-dev" not in builder_runs


def test_it_runs_as_a_non_root_user_in_the_final_stage():
    final = final_stage(dockerfile())
    users = _instructions(final, "USER")
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric uid, so Kubernetes' runAsNonRoot can verify it"
    # USER comes after the last RUN: nothing at run time has root's rights.
    names = [item["instruction"] for item in final]
    assert names.index("USER") > max(i for i, name in enumerate(names) if name == "RUN")


def test_it_has_a_healthcheck_on_health():
    healthchecks = _instructions(final_stage(dockerfile()), "HEALTHCHECK")
    assert len(healthchecks) == 1
    assert "/health" in healthchecks[0] and "--interval=" in healthchecks[0]


def test_it_collects_static_files_at_build_time():
    runs = " ".join(_instructions(final_stage(dockerfile()), "RUN"))
    assert "manage.py collectstatic --noinput" in runs


def test_it_bakes_no_secret_into_the_image():
    parser = dockerfile()
    for item in parser.structure:
        if item["instruction"] in {"ENV", "ARG", "LABEL"}:
            assert not SECRET_NAME.search(item["value"].upper()), item
    assert not any(SECRET_NAME.search(name.upper()) for name in parser.envs), parser.envs
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in [".env", ".demo-key", "*.sqlite3", ".git", ".venv", "deploy/.env", "staticfiles"]:
        assert path in ignored, f"{path} would be sent to the build (and COPY . . would bake it in)"


def test_it_copies_only_files_that_exist():
    for item in dockerfile().structure:
        if item["instruction"] != "COPY" or item["value"].startswith("--from"):
            continue
        sources = [part for part in item["value"].split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"


def test_it_collects_static_files_without_a_database_or_secrets(tmp_path):
    """The build's collectstatic step, as a dry run: it must import settings with no secret set."""

    env = {"PATH": str(Path(sys.executable).parent), "DEBUG": "1", "AOS_ENV_FILE": str(tmp_path / "none")}
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run", "--verbosity", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "static file" in done.stdout


def test_it_starts_its_cmd_and_answers_health(tmp_path):
    parser = dockerfile()
    command = _exec_form(parser.cmd)
    assert command == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi"]
    # The image's environment (ENV) as the container gets it, with this machine's venv and a free port.
    port = free_port()
    env = {
        **parser.envs,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "AOS_ENV_FILE": str(tmp_path / "no.env"),
        "ALLOWED_HOSTS": "127.0.0.1",
        # What the Secret supplies at run time; never in the image.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AOS_SECRETS_KEYS": Fernet.generate_key().decode(),
    }
    assert env["DEBUG"] == "0", "the image runs with DEBUG off"
    url = f"http://127.0.0.1:{port}/health"
    with running(command, log_path=tmp_path / "gunicorn.log", env=env, url=url) as proc:
        response = wait_for(lambda: _answered(url), timeout=30, what="gunicorn /health", log=proc.log_path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert proc.process.poll() is None
    assert "Booting worker" in proc.log() or "booting worker" in proc.log().lower()


def test_it_refuses_to_serve_without_its_secrets(tmp_path):
    """The same CMD with DEBUG=0 and no SECRET_KEY: the worker refuses to boot (aosproject/wsgi.py)."""
    parser = dockerfile()
    port = free_port()
    env = {
        **parser.envs,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "AOS_ENV_FILE": str(tmp_path / "no.env"),
    }
    with running(_exec_form(parser.cmd), log_path=tmp_path / "gunicorn.log", env=env) as proc:
        proc.process.wait(timeout=30)
        assert proc.process.returncode != 0
        assert "aos.E001" in proc.log()


def _answered(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None


def test_it_installs_the_sdk_as_a_regular_package_in_the_builder():
    """The builder's sed, run on requirements.txt: no editable install is left (no /src at run time)."""

    runs = " ".join(item["value"] for item in dockerfile().structure if item["instruction"] == "RUN")
    expression = re.search(r"sed '([^']+)' requirements.txt", runs)
    assert expression, "the builder no longer rewrites requirements.txt"
    done = subprocess.run(
        ["sed", expression.group(1), "requirements.txt"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "./sdk/python" in lines
    assert not [line for line in lines if line.startswith("-e")]
