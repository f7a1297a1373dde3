"""`/health` p99 while 50 slow `wait: true` runs are in flight (issue 21 finding 2). Printed, not asserted.

Needs PostgreSQL and Redis (a real broker and a real Celery worker):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_wait REDIS_URL=redis://127.0.0.1:6379/2 \\
      .venv/bin/python bench/bench_wait_runs.py

The script starts, on free loopback ports: a slow stand-in HTTP server (each request sleeps
`--slow-seconds`), gunicorn with deploy/gunicorn.conf.py (gthread, 2 workers x 8 threads) and a
Celery worker (threads pool, 50 threads). It measures `/health` latency idle (the baseline, same
run), then fires `--runs` concurrent `POST /runs {"wait": true}` of one `http_call` to the stand-in
and measures `/health` again while they are in flight. One tenant with max_concurrent = --runs, so
admission control does not refuse any: what keeps threads free is the bounded wait
(AOS_RUN_WAIT_SLOTS per process, then 202 at once).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    sys.exit("bench_wait_runs: set DATABASE_URL and REDIS_URL (a broker and a worker are part of the setup)")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
os.environ.update(
    RATELIMIT_ENABLE="0",
    LOG_LEVEL="WARNING",
    DEBUG="0",
    SESSION_COOKIE_SECURE="0",
    CSRF_COOKIE_SECURE="0",
    HTTP_CALL_ALLOWED_HOSTS="127.0.0.1",
    CELERY_TASK_ALWAYS_EAGER="0",
)
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("AOS_SECRETS_KEYS", "E8wY9Z0fTQ0B4kq0S3dtbYHvN8n2Xk7YxH0QdG1m0aQ=")
ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.models import Role, Tenant  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from traces.models import Trace, TraceStatus  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_server(seconds: float) -> ThreadingHTTPServer:
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(seconds)
            body = b'{"price": 97000}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def health_latencies(base: str, n: int, interval: float) -> list[float]:
    session = requests.Session()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = session.get(f"{base}/health", timeout=30)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        time.sleep(interval)
    return out


def summary(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:7.1f} ms  p99 {q[98]:7.1f} ms  max {max(values):7.1f} ms  (n={len(values)})"


def wait_until_up(base: str) -> None:
    for _ in range(150):
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--slow-seconds", type=float, default=6.0)
    parser.add_argument("--health-requests", type=int, default=200)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    Trace.objects.filter(tenant__slug="bench-wait").delete()
    tenant, _ = Tenant.objects.update_or_create(
        slug="bench-wait", defaults={"name": "bench", "tier": "unlimited", "max_concurrent": args.runs}
    )
    _, raw_key = api_key_create(tenant=tenant, role=Role.DEVELOPER)
    slow = slow_server(args.slow_seconds)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8"}
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi"], cwd=ROOT, env=env
    )
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "aosproject", "worker", "-P", "threads", "-c", "50", "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base)
        time.sleep(2)  # the worker connects to the broker
        health_latencies(base, 20, 0.01)  # warm-up: imports and connections in both web workers
        idle = health_latencies(base, args.health_requests, 0.02)

        url = f"http://127.0.0.1:{slow.server_address[1]}/price"
        body = {"plan": [{"skill": "http_call", "params": {"url": url, "retries": 0, "timeout": 30}}], "wait": True}
        headers = {"Authorization": f"Bearer {raw_key}"}
        statuses: list[int] = []
        answered: list[float] = []

        def submit() -> None:
            started = time.perf_counter()
            response = requests.post(f"{base}/api/v1/runtime/runs", json=body, headers=headers, timeout=60)
            answered.append(time.perf_counter() - started)
            statuses.append(response.status_code)

        burst = [threading.Thread(target=submit) for _ in range(args.runs)]
        started = time.perf_counter()
        for thread in burst:
            thread.start()
        time.sleep(0.3)  # the burst has reached the web tier
        loaded = health_latencies(base, args.health_requests, 0.02)
        in_flight_after = Trace.objects.filter(
            tenant=tenant, status__in=(TraceStatus.QUEUED, TraceStatus.RUNNING)
        ).count()
        for thread in burst:
            thread.join(120)
        while Trace.objects.filter(tenant=tenant, status__in=(TraceStatus.QUEUED, TraceStatus.RUNNING)).exists():
            time.sleep(0.2)
        all_done = time.perf_counter() - started

        print("gunicorn -c deploy/gunicorn.conf.py (gthread 2 x 8), Celery worker (threads x 50), PostgreSQL + Redis")
        print(f"{args.runs} POST /runs wait:true, one http_call each to a stand-in sleeping {args.slow_seconds:g} s")
        print(f"  /health idle (baseline): {summary(idle)}")
        print(f"  /health under the burst: {summary(loaded)}")
        ratio = statistics.quantiles(loaded, n=100)[98] / statistics.quantiles(idle, n=100)[98]
        print(f"  p99 ratio loaded/idle: {ratio:.2f}")
        print(f"  run answers: {dict(Counter(statuses))}; slowest answer {max(answered):.1f} s")
        print(f"  runs still in flight when the /health sample ended: {in_flight_after}")
        final = dict(Counter(Trace.objects.filter(tenant=tenant).values_list("status", flat=True)))
        print(f"  all {args.runs} runs finished after {all_done:.1f} s: {final}")
    finally:
        web.terminate()
        worker.terminate()
        web.wait(timeout=20)
        worker.wait(timeout=20)
        slow.shutdown()


if __name__ == "__main__":
    main()
