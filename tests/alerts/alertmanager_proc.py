"""A real Alertmanager (Debian `prometheus-alertmanager`) for tests: free loopback port, temp storage, killed after."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

ALERTMANAGER_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AMTOOL_BIN = shutil.which("amtool") or "/usr/bin/amtool"


def alertmanager_missing() -> bool:
    return not (Path(ALERTMANAGER_BIN).exists() and Path(AMTOOL_BIN).exists())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def webhook_config(*, webhook_url: str, token_file: Path) -> str:
    """Every alert in its own group, sent to our webhook within ~1 s, resolved notifications too."""
    return f"""\
route:
  receiver: aos-webhook
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: aos-webhook
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {token_file}
"""


@dataclass
class AlertmanagerProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def running_alertmanager(
    *, config_text: str, workdir: Path, ready_timeout: float = 15.0
) -> Iterator[AlertmanagerProcess]:
    """Starts Alertmanager with `config_text`, waits for /-/ready, yields it, then kills it."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(config_text)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                ALERTMANAGER_BIN,
                f"--config.file={config_path}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip: a single, isolated instance
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    am = AlertmanagerProcess(url=url, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Alertmanager exited with {process.returncode}:\n{am.log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Alertmanager not ready after {ready_timeout}s:\n{am.log()}")
            time.sleep(0.05)
        yield am
    finally:
        process.kill()
        process.wait(timeout=10)


def amtool(*args: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run([AMTOOL_BIN, *args], capture_output=True, text=True, timeout=timeout)
