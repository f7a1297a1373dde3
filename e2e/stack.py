"""The production shape on this machine (`make e2e`, `make load`): every process on a free 127.0.0.1 port.

gunicorn with deploy/gunicorn.conf.py, a Celery worker and beat (`make worker`, `make beat`), PostgreSQL (a
fresh database on the machine's server, dropped afterwards), a Redis server of its own, the Pushgateway,
Alertmanager (deploy/alertmanager/alertmanager.yml rendered with envsubst, as its header documents) and
Prometheus (deploy/prometheus/scrape.yml pointed at these ports), plus the local GitHub stand-in and a sink
for Slack and the dead-man's switch. DEBUG=0 and the same settings a deployment sets (`stack_env`).

`Stack` is a context manager; everything it started is stopped on exit, on an exception, on SIGTERM/SIGINT
(turned into KeyboardInterrupt, which pytest answers by tearing its fixtures down and a plain `with` by its
`__exit__`) and, as a last resort, at interpreter exit (atexit). E2E_STATE_FILE: where to write the stack's
work directory, database and pids once it is up (the harness's own tests read it).
Every child leads its own process group, so stopping one stops what it started (make → celery).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(Path(sys.executable))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "scrape.yml"
ALERT_RULES = ROOT / "deploy" / "prometheus" / "aos_rules.yml"
ALERTMANAGER_TEMPLATE = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
SLACK_TEMPLATES = ROOT / "deploy" / "alertmanager" / "aos.tmpl"
DEPLOYED_SECRETS = "/etc/alertmanager/secrets/"
GITHUB_REPO = "acme/agents"
# The machine's PostgreSQL server; the stack creates and drops its own database there.
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432"
# `manage.py check --deploy` findings that only HTTPS settles. The stack serves plain HTTP on loopback; in a
# deployment TLS ends at the proxy, which sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) and HSTS.
HTTPS_ONLY_CHECKS = {
    "security.W004": "SECURE_HSTS_SECONDS unset: HSTS is sent by the TLS-terminating proxy",
    "security.W008": "SECURE_SSL_REDIRECT off: the proxy redirects http to https",
}

TOOLS = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "pushgateway": "prometheus-pushgateway",
    "envsubst": "envsubst",
}


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS.values() if shutil.which(tool) is None]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_server_url() -> str:
    """The PostgreSQL server of E2E_PG_SERVER, else of DATABASE_URL when it is PostgreSQL, else the local one."""
    if explicit := os.environ.get("E2E_PG_SERVER"):
        return explicit.rstrip("/")
    url = os.environ.get("DATABASE_URL", "")
    if url.partition("://")[0] in {"postgres", "postgresql", "pgsql"}:
        return url.rsplit("/", 1)[0]
    return DEFAULT_PG_SERVER


@dataclass
class Ports:
    web: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    worker_metrics: int = field(default_factory=free_port)
    alertmanager: int = field(default_factory=free_port)
    prometheus: int = field(default_factory=free_port)
    pushgateway: int = field(default_factory=free_port)


@dataclass
class Secrets:
    """Generated per stack: nothing here is ever in git or a log."""

    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    secrets_key: str = field(default_factory=lambda: _fernet_key())
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    alerts_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    github_webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def stack_env(
    *, ports: Ports, keys: Secrets, database_url: str, github_url: str, github_token: str, workdir: Path
) -> dict[str, str]:
    """The environment of every stack process: what a deployment sets (.env.example), pointed at these ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_MULTIPROC_DIR", "AOS_WORKER_"))}
    for name in ("SQLITE_PATH", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "AOS_ENV_FILE", "LOG_FORMAT"):
        env.pop(name, None)
    web = f"http://127.0.0.1:{ports.web}"
    env.update(
        DEBUG="0",
        SECRET_KEY=keys.secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        AOS_BASE_URL=web,
        AOS_ENV_FILE=str(workdir / "no.env"),  # never a developer's .env
        AOS_ENVIRONMENT="e2e",
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{ports.redis}/0",
        AOS_SECRETS_KEYS=keys.secrets_key,
        METRICS_BEARER_TOKEN=keys.metrics_token,
        ALERTMANAGER_URL=f"http://127.0.0.1:{ports.alertmanager}",
        ALERTS_WEBHOOK_TOKEN=keys.alerts_token,
        PROMETHEUS_PUSHGATEWAY_URL=f"http://127.0.0.1:{ports.pushgateway}",
        PROMETHEUS_PUSHGATEWAY_INSTANCE="e2e",
        GITHUB_TOKEN=github_token,
        GITHUB_REPO=GITHUB_REPO,
        GITHUB_API_URL=github_url,
        GITHUB_WEBHOOK_SECRET=keys.github_webhook_secret,
        GITHUB_WRITE_INTERVAL_SECONDS="0",
        # The secret test's http_call reaches a stand-in on loopback, refused by default.
        HTTP_CALL_ALLOWED_HOSTS="127.0.0.1",
        GUNICORN_BIND=f"127.0.0.1:{ports.web}",
        LOG_LEVEL=os.environ.get("E2E_LOG_LEVEL", "INFO"),
    )
    return env


def render_prometheus_config(*, ports: Ports, token_file: Path) -> str:
    """deploy/prometheus/scrape.yml with only targets, intervals, labels and file paths swapped."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", external_labels={"environment": "e2e"})
    config["rule_files"] = [str(ALERT_RULES)]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{ports.alertmanager}"]}]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    if set(jobs) != {"aos-web", "aos-worker", "aos-pushgateway"}:
        raise ValueError(f"{SCRAPE_CONFIG}: unexpected jobs {sorted(jobs)}")
    jobs["aos-web"]["static_configs"] = [{"targets": [f"127.0.0.1:{ports.web}"]}]
    jobs["aos-web"]["authorization"]["credentials_file"] = str(token_file)
    jobs["aos-worker"]["static_configs"] = [{"targets": [f"127.0.0.1:{ports.worker_metrics}"]}]
    jobs["aos-pushgateway"]["static_configs"] = [{"targets": [f"127.0.0.1:{ports.pushgateway}"]}]
    return yaml.safe_dump(config, sort_keys=False)


def render_alertmanager_config(*, aos_base_url: str, sink_url: str, secrets_dir: Path) -> str:
    """deploy/alertmanager/alertmanager.yml rendered by envsubst as its header says, then localised: secret
    files and templates from `secrets_dir`/deploy, and 1 s grouping instead of 30 s / 5 min."""
    env = {**os.environ, "AOS_BASE_URL": aos_base_url, "DEADMANS_SWITCH_URL": f"{sink_url}/deadmans-switch"}
    rendered = subprocess.run(
        ["envsubst", "$AOS_BASE_URL $DEADMANS_SWITCH_URL"],
        input=ALERTMANAGER_TEMPLATE.read_text(),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config = yaml.safe_load(rendered.replace(DEPLOYED_SECRETS, f"{secrets_dir}/"))
    config["templates"] = [str(SLACK_TEMPLATES)]
    config["route"].update(group_wait="1s", group_interval="2s")
    return yaml.safe_dump(config, sort_keys=False)


class StackError(RuntimeError):
    """A process of the stack did not start; the message holds the tail of its log."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def _stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Stack:
    """Start with `with Stack() as stack:`; `stack.web`, `stack.env`, `stack.manage(...)`, `stack.github`."""

    def __init__(self, *, keep_logs: bool = False) -> None:
        self.ports = Ports()
        self.keys = Secrets()
        self.workdir = Path(tempfile.mkdtemp(prefix="aos-e2e-"))
        self.keep_logs = keep_logs
        self.database = f"aos_e2e_run_{secrets.token_hex(4)}"
        self.pg_server = pg_server_url()
        self.processes: list[Process] = []
        self.started_in = 0.0
        self._exit = contextlib.ExitStack()
        self._database_created = False
        self._stopped = False
        self.check_deploy_output = ""
        self.web = f"http://127.0.0.1:{self.ports.web}"
        self.prometheus = f"http://127.0.0.1:{self.ports.prometheus}"
        self.alertmanager = f"http://127.0.0.1:{self.ports.alertmanager}"
        self.pushgateway = f"http://127.0.0.1:{self.ports.pushgateway}"
        self.github: Any = None
        self.sink: Any = None
        self.env: dict[str, str] = {}

    # --- lifecycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        atexit.register(self.stop)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, _interrupt)
        self._exit.callback(lambda: [signal.signal(sig, handler) for sig, handler in previous.items()])
        try:
            self.start()
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(failed=exc_type is not None)

    def start(self) -> None:
        from tests.servers import LocalServer
        from tests.triage.github_standin import GitHubStandin

        started = time.monotonic()
        self.github = self._exit.enter_context(GitHubStandin())
        self.sink = self._exit.enter_context(LocalServer(lambda method, path, headers, body: (200, {}, b"ok")))
        self.env = stack_env(
            ports=self.ports,
            keys=self.keys,
            database_url=f"{self.pg_server}/{self.database}",
            github_url=self.github.url,
            github_token=self.github.token,
            workdir=self.workdir,
        )
        self._write_files()
        self._spawn_infrastructure()
        self._create_database()
        self._wait("redis", lambda: _redis_ping(self.ports.redis))
        # Three Django starts at once (each costs seconds): the schema, the static files, the deploy checks.
        with ThreadPoolExecutor(max_workers=3) as pool:
            migrate = pool.submit(self.manage, "migrate", "--noinput", "-v", "0")
            static = pool.submit(self.manage, "collectstatic", "--noinput", "-v", "0")
            deploy_check = pool.submit(self.manage, "check", "--deploy", check=False)
            migrate.result(), static.result()
            self.check_deploy_output = deploy_check.result().stderr
        self._spawn(
            "web",
            [GUNICORN, "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "aosproject.wsgi"],
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "prometheus-multiproc")},
        )
        worker_args = "--pool=prefork --concurrency=2 --without-mingle --without-gossip"
        self._spawn(
            "worker",
            ["make", "--no-print-directory", "worker", f"WORKER_ARGS={worker_args}"],
            env={**self.env, "AOS_WORKER_METRICS_PORT": str(self.ports.worker_metrics)},
        )
        self._spawn("beat", ["make", "--no-print-directory", "beat", f"BEAT_SCHEDULE={self.workdir / 'beat'}"])
        self._wait("web", lambda: _ok(f"{self.web}/ready"))
        self._wait("worker", lambda: _ok(f"http://127.0.0.1:{self.ports.worker_metrics}/metrics"))
        self._wait("beat", lambda: "beat: Starting..." in self.process("beat").tail(100_000))
        self._wait("pushgateway", lambda: _ok(f"{self.pushgateway}/-/ready"))
        self._wait("alertmanager", lambda: _ok(f"{self.alertmanager}/-/ready"))
        self._wait("prometheus", lambda: _ok(f"{self.prometheus}/-/ready"))
        self.started_in = time.monotonic() - started
        if state_file := os.environ.get("E2E_STATE_FILE"):
            state = {"workdir": str(self.workdir), "database": self.database, "pids": self.pids(), "web": self.web}
            Path(state_file).write_text(json.dumps(state))

    def _spawn_infrastructure(self) -> None:
        """Redis and the observability servers: they need no database, so they boot while it is migrated."""
        redis = ["redis-server", "--port", str(self.ports.redis), "--bind", "127.0.0.1", "--save", ""]
        self._spawn("redis", [*redis, "--appendonly", "no", "--dir", str(self.workdir)])
        self._spawn(
            "pushgateway",
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{self.ports.pushgateway}", "--log.level=warn"],
        )
        self._spawn(
            "alertmanager",
            [
                "prometheus-alertmanager",
                f"--config.file={self.workdir / 'alertmanager.yml'}",
                f"--storage.path={self.workdir / 'alertmanager-data'}",
                "--cluster.listen-address=",  # no gossip: one isolated instance
                f"--web.listen-address=127.0.0.1:{self.ports.alertmanager}",
                "--log.level=warn",
            ],
        )
        self._spawn(
            "prometheus",
            [
                "prometheus",
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.ports.prometheus}",
                "--log.level=warn",
            ],
        )

    def stop(self, failed: bool = False) -> None:
        """Idempotent: stops every process (newest first), drops the database, removes the files."""
        if self._stopped:
            return
        self._stopped = True
        # The application tier first (a worker stopping warm still talks to Redis), then the rest; each group
        # is signalled at once and waited on in parallel.
        app = [p for p in self.processes if p.name in {"web", "worker", "beat"}]
        rest = [p for p in self.processes if p not in app]
        for group in (app, rest):
            with ThreadPoolExecutor(max_workers=max(len(group), 1)) as pool:
                list(pool.map(lambda process: _stop(process.popen), group))
        self._exit.close()
        if self._database_created:
            with contextlib.suppress(Exception):
                self._admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if failed or self.keep_logs:
            print(f"e2e: logs kept in {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.stop)

    # --- helpers ----------------------------------------------------------------------------------------------
    def manage(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """`manage.py ARGS` with the stack's environment (what an operator runs on a web host)."""
        argv = [PYTHON, "manage.py", *args]
        result = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, input=input, timeout=120)
        if check and result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read (or age) rows of the stack's database directly: only for checks and for faking elapsed time."""
        import psycopg

        with psycopg.connect(f"{self.pg_server}/{self.database}", autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def pids(self) -> list[int]:
        return [p.popen.pid for p in self.processes]

    def _write_files(self) -> None:
        secrets_dir = self.workdir / "secrets"
        secrets_dir.mkdir()
        (secrets_dir / "aos_webhook_token").write_text(self.keys.alerts_token)
        (secrets_dir / "slack_webhook_url").write_text(f"{self.sink.url}/slack")
        token_file = secrets_dir / "aos_metrics_token"
        token_file.write_text(self.keys.metrics_token)
        (self.workdir / "alertmanager.yml").write_text(
            render_alertmanager_config(aos_base_url=self.web, sink_url=self.sink.url, secrets_dir=secrets_dir)
        )
        (self.workdir / "prometheus.yml").write_text(render_prometheus_config(ports=self.ports, token_file=token_file))

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                args, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(Process(name, popen, log_path))

    def _wait(self, name: str, ready, timeout: float = 60) -> None:
        process = self.process(name)
        deadline = time.monotonic() + timeout
        while True:
            if process.popen.poll() is not None:
                raise StackError(f"{name} exited with {process.popen.returncode}:\n{process.tail()}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise StackError(f"{name} not ready after {timeout} s:\n{process.tail()}")
            time.sleep(0.1)

    def _admin_sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_server}/postgres", autocommit=True) as conn:
            conn.execute(statement)

    def _create_database(self) -> None:
        self._admin_sql(f'CREATE DATABASE "{self.database}"')
        self._database_created = True


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _ok(url: str) -> bool:
    return requests.get(url, timeout=1).status_code == 200


def _redis_ping(port: int) -> bool:
    import redis

    return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())


def versions(stack: Stack) -> dict[str, str]:
    """Machine facts for reports: cores, Python, PostgreSQL and Redis server versions."""
    import platform

    import redis

    info = redis.Redis(host="127.0.0.1", port=stack.ports.redis, socket_timeout=2).info("server")
    [(pg_version,)] = stack.sql("SHOW server_version")
    return {
        "cores": str(os.cpu_count()),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "postgresql": str(pg_version),
        "redis": str(info["redis_version"]),
        "platform": platform.platform(),
        "host": platform.node(),
    }
