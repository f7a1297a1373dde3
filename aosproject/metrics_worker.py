"""A Celery worker's own `/metrics`: counters bumped by tasks (runs, cost, notifications, retention).

Counters live in the process that bumps them. A worker on another host than gunicorn (or with
another PROMETHEUS_MULTIPROC_DIR) is invisible to the web's `/metrics`, so each worker host
serves its own exposition on AOS_WORKER_METRICS_PORT, which Prometheus scrapes as job
`aos-worker` (deploy/prometheus/scrape.yml). With the prefork pool the tasks run in child
processes: prometheus_client's multiprocess mode aggregates their files, and the main process
serves them (one port per worker instance, however many children).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

logger = logging.getLogger(__name__)

PORT_ENV = "AOS_WORKER_METRICS_PORT"
ADDR_ENV = "AOS_WORKER_METRICS_ADDR"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def is_worker_command(argv: list[str]) -> bool:
    return "worker" in argv[1:]


def ensure_multiprocess_dir(
    *, environ: MutableMapping[str, str] | None = None, argv: list[str] | None = None
) -> str | None:
    """Before prometheus_client is imported: a metrics-serving worker gets a multiprocess directory.

    prometheus_client chooses file-backed values when it is imported, so this runs from
    aosproject/celery.py, first. Without a directory set, a private temporary one is made, so a
    prefork worker's children are counted without configuration. A directory that is set is the
    worker's own (never gunicorn's): the files of its earlier runs are removed here, before Django
    starts and this process writes its own (as gunicorn's on_starting does for the web).
    """
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    if not env.get(PORT_ENV) or not is_worker_command(argv):
        return None
    if not env.get(MULTIPROC_ENV):
        env[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="aos-worker-metrics-")
    else:
        clean_multiprocess_dir(env[MULTIPROC_ENV])
    return env[MULTIPROC_ENV]


def clean_multiprocess_dir(path: str) -> int:
    """Removes the files of earlier runs; returns how many (gunicorn.conf.py does the same, importing nothing)."""
    removed = 0
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def worker_registry(path: str):
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return registry


def start_worker_metrics_server() -> tuple[str, int] | None:
    """From `celeryd_init` (the worker's main process, before the pool forks): serve `/metrics`.

    Returns the bound (address, port), or None when AOS_WORKER_METRICS_PORT is not set.
    """
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return None
    from prometheus_client import start_http_server

    port = int(raw)  # a malformed value fails the worker at start, loudly
    addr = os.environ.get(ADDR_ENV, "127.0.0.1")
    path = os.environ[MULTIPROC_ENV]  # set by ensure_multiprocess_dir before any metric existed
    server, _thread = start_http_server(port, addr=addr, registry=worker_registry(path))
    host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    logger.info("Worker metrics on http://%s:%s/metrics (multiprocess directory %s)", host, bound_port, path)
    return host, bound_port


def mark_worker_process_dead(pid: int) -> None:
    """From `worker_process_shutdown`: drops a pool child's live gauges (as gunicorn's child_exit)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def connect_signals(app) -> None:
    from celery.signals import celeryd_init, worker_process_shutdown

    @celeryd_init.connect(weak=False)
    def _serve_metrics(**_kwargs) -> None:
        start_worker_metrics_server()

    @worker_process_shutdown.connect(weak=False)
    def _child_gone(pid=None, **_kwargs) -> None:
        mark_worker_process_dead(pid or os.getpid())
