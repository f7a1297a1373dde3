"""gunicorn settings for the web: `gunicorn -c deploy/gunicorn.conf.py aosproject.wsgi`.

Metrics with several workers (prometheus_client multiprocess mode): set PROMETHEUS_MULTIPROC_DIR
to a directory of the web's own (not a Celery worker's). This file then
- empties it when the arbiter starts (on_starting): values of an earlier run are not summed in;
- marks a worker that exited dead (child_exit): its live gauges (aos_rate_limit_tier_limit,
  `livemax`) disappear with it instead of staying as a stale pid after a restart or `kill -HUP`.
Counters of dead workers stay in the directory on purpose: they are summed, so a restart does
not make them go backwards.

gthread workers: a request waiting on a run (`wait: true`) holds a thread, never a process.
`timeout` does not interrupt a gthread request; the runtime bounds itself instead (run
deadlines, AOS_RUN_WAIT_SECONDS below GUNICORN_TIMEOUT (system check aos.E031),
AOS_RUN_WAIT_SLOTS per process and per-tenant admission control; README "Execution limits").

Sizing (issue 15, bench/README.md): the web is CPU-bound Python, so processes are what scale it
(one GIL each): GUNICORN_WORKERS defaults to two per CPU this process may use, which also keeps a
CPU busy while the other process waits on PostgreSQL or Redis. Threads cover those waits and the
bounded `wait: true` runs: GUNICORN_THREADS (8) stays above AOS_RUN_WAIT_SLOTS (4), so waiting runs
never hold every thread. Idle keep-alive connections cost no thread in gthread (they wait in the
poller), so GUNICORN_KEEPALIVE is 5 s rather than gunicorn's 2 (a load balancer in front should
keep its own idle timeout below it or disable upstream keep-alive).
"""

import gc
import os
from pathlib import Path


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this container may use, not the host's
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * _cpus())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The workers' heartbeat files in memory: a slow or full disk must not make the arbiter kill them
# (gunicorn creates them with tempfile.mkstemp, owner-only, so a shared directory is safe).
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# The application writes its own access log line (aosproject.request_log: request id, tenant,
# principal, duration); gunicorn's would be a second, unstructured one.
accesslog = None


def _log_format() -> str:
    # As aosproject/settings.py decides: LOG_FORMAT, else JSON unless DEBUG is on.
    debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    raw = os.environ.get("LOG_FORMAT", "").strip().lower()
    return raw if raw in {"json", "text"} else ("text" if debug else "json")


if _log_format() == "json":
    # gunicorn's own lines (start, worker boot/exit) as JSON too, so every line of the stream parses.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }

_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def post_worker_init(worker):
    """Warm the worker, then move every object it holds into the garbage collector's permanent generation.

    A full (generation 2) collection walks every tracked object: in a loaded AOS worker ~220,000 of them,
    a 115 ms pause of the whole process, every thread and connection in it, every few seconds under load
    (bench/README.md, p99). The application's modules, URLconf, serializers and settings live as long
    as the process: `gc.freeze()` takes them out of every later collection, which then walks only what
    requests allocated (~15 ms). GUNICORN_GC_FREEZE=0 turns it off.
    """
    if os.environ.get("GUNICORN_GC_FREEZE", "1").strip().lower() in {"0", "false", "no", "off"}:
        return
    try:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 (imports every view module, as a first request would)
    except Exception:  # not a Django app, or its URLconf is broken: the first request reports that
        worker.log.debug("URLconf not loaded before gc.freeze()", exc_info=True)
    gc.collect()
    gc.freeze()


def on_starting(server):
    path = os.environ.get(_MULTIPROC)
    if not path:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    stale = list(directory.glob("*.db"))
    for file in stale:
        file.unlink(missing_ok=True)
    removed = len(stale)
    server.log.info("Prometheus multiprocess directory %s: removed %d file(s) of an earlier run", path, removed)


def child_exit(server, worker):
    if os.environ.get(_MULTIPROC):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
