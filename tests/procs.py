"""Real processes for the observability tests: gunicorn, Celery, Prometheus, Pushgateway.

Each runs on a free loopback port with its output in a log file, and is stopped by the test.
`child_env()` points a child process at this test run's database (a test database needs
`transactional_db` so that what the test wrote is committed and visible to the child).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from django.db import connection

from tests.alerts.alertmanager_proc import free_port

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_BIN = shutil.which("prometheus")
PUSHGATEWAY_BIN = shutil.which("prometheus-pushgateway")
GUNICORN_BIN = str(Path(sys.executable).with_name("gunicorn"))

__all__ = ["child_env", "free_port", "running", "stop", "wait_for"]


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the test database instead of the configured one."""
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR", "AOS_WORKER_METRICS_PORT"}}
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
    env.update(extra)
    return env


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, log: Path | None = None):
    """Polls `predicate` every 0.1 s until it returns something truthy; fails with the log's tail."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            if result := predicate():
                return result
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")
        time.sleep(0.1)


def stop(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stops the child and everything it started (`make worker` runs celery as its own child).

    Children of `running` lead their own process group, so the signal goes to that group only.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Proc:
    process: subprocess.Popen
    log_path: Path
    url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def running(args: list[str], *, log_path: Path, env: dict | None = None, url: str = "") -> Iterator[Proc]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield Proc(process=process, log_path=log_path, url=url)
    finally:
        stop(process)


def ready(url: str) -> bool:
    return requests.get(url, timeout=1).status_code == 200
