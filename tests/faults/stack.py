"""Real services for the fault-injection tests, each on its own free loopback port.

`OwnRedis` is a throwaway redis-server that a test may kill -9 and start again on the same port;
`web` is gunicorn with deploy/gunicorn.conf.py (the production web tier); `worker` is a real
`celery worker` process (prefork). Children lead their own process group, so `kill()` takes the
whole group down at once, as the OOM killer or a lost node would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.procs import GUNICORN_BIN, Proc, child_env, free_port, running, wait_for

__all__ = ["OwnRedis", "celery_sending_to", "child_env", "kill", "needs_redis_server", "web", "worker"]

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")


@contextlib.contextmanager
def celery_sending_to(broker_url: str) -> Iterator:
    """This process's Celery app sends tasks to `broker_url` (not eager) inside the block."""
    from aosproject.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = broker_url, False
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        app._pool = None
        app.amqp._producer_pool = None


class OwnRedis:
    """A redis-server on a free port; `kill()` is kill -9, `start()` brings it back on the same port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(port=self.port, socket_timeout=1)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise
                time.sleep(0.02)

    def calls(self, command: str) -> int:
        return int(self.client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    stop = kill


@contextlib.contextmanager
def web(tmp_path: Path, env: dict[str, str], *, name: str = "web", workers: int = 2) -> Iterator[Proc]:
    """gunicorn (gthread, deploy/gunicorn.conf.py) on a free port; waits for /health."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [GUNICORN_BIN, "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi", "--bind", f"127.0.0.1:{port}"]
    env = {"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": "8", "LOG_FORMAT": "text", **env}
    with running(args, log_path=tmp_path / f"{name}.log", env=env, url=url) as proc:
        wait_for(
            lambda: requests.get(f"{url}/health", timeout=1).ok, timeout=30, what=f"{name} /health", log=proc.log_path
        )
        yield proc


@contextlib.contextmanager
def worker(
    tmp_path: Path, env: dict[str, str], *, name: str = "worker", queue: str = "celery", concurrency: int = 1
) -> Iterator[Proc]:
    """`celery -A aosproject worker` (prefork, `concurrency` children); waits until it is consuming."""
    args = [sys.executable, "-m", "celery", "-A", "aosproject", "worker", "-l", "INFO", "-Q", queue]
    args += [
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
    ]
    log = tmp_path / f"{name}.log"
    with running(args, log_path=log, env={"LOG_FORMAT": "text", **env}) as proc:
        wait_for(lambda: "ready." in log.read_text(errors="replace"), timeout=60, what=f"{name} ready", log=log)
        yield proc


def kill(proc: Proc) -> None:
    """kill -9 of the process and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.process.pid, signal.SIGKILL)
    proc.process.wait(timeout=10)
