"""Runtime benchmarks (printed, not asserted).

    .venv/bin/python bench/bench_runtime.py                      # embedded default (temp SQLite)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_rt REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/bench_runtime.py

1. Full stack: the script starts gunicorn (`--workers`, sync) on a free port and fires requests from
   `--concurrency` client threads (one keep-alive session each): `GET /health`, `POST simulate` and
   `POST runs` (`wait: true`) of a 10-step plan (json_transform + local llm_invoke), all in the same
   run. Prints req/s, p50 and p95.
2. In process: replay of a 1,000-step run (`run_replay`, recorded mode): wall time and SQL queries.

A PostgreSQL database named in DATABASE_URL is created when missing; without DATABASE_URL a
temporary SQLite file is used. The rate limiter is off (it is not what is measured).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
os.environ["RATELIMIT_ENABLE"] = "0"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ["SESSION_COOKIE_SECURE"] = "0"
os.environ["CSRF_COOKIE_SECURE"] = "0"
if not os.environ.get("DATABASE_URL"):
    os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="aos-bench-")) / "bench.sqlite3")


if os.environ.get("DATABASE_URL"):
    ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Role, Tenant  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from runtime.services import run_replay, run_start  # noqa: E402


def ten_step_plan() -> list[dict]:
    plan = [{"skill": "json_transform", "params": {"payload": "{{ input }}", "mapping": {"p": "price", "s": "symbol"}}}]
    for i in range(1, 10):
        if i % 3 == 0:
            content = f"Step {i}: summarise {{{{ steps[{i - 1}].output }}}}"
            plan.append({"skill": "llm_invoke", "params": {"messages": [{"role": "user", "content": content}]}})
        else:
            plan.append(
                {"skill": "json_transform", "params": {"payload": f"{{{{ steps[{i - 1}].output }}}}", "query": "@"}}
            )
    return plan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def load(url: str, *, method: str, headers: dict, body: dict | None, total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = total // concurrency

    def worker() -> None:
        nonlocal errors
        session = requests.Session()
        for _ in range(per_thread):
            started = time.perf_counter()
            response = session.request(method, url, json=body, headers=headers, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code >= 400:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "n": len(latencies),
        "rps": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "errors": errors,
    }


def full_stack(args, raw_key: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "aosproject.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {raw_key}"}
        plan_body = {"plan": ten_step_plan(), "seed": 1}
        cases = [
            ("GET  /health", "GET", f"{base}/health", None, args.requests),
            ("POST simulate (10 steps)", "POST", f"{base}/api/v1/runtime/simulate", plan_body, args.requests),
            (
                "POST runs wait (10 steps)",
                "POST",
                f"{base}/api/v1/runtime/runs",
                {**plan_body, "input": {"price": 97000, "symbol": "BTC"}, "wait": True},
                args.requests // 2,
            ),
        ]
        # warm-up: imports, connections, first queries in every worker
        for _, method, url, body, _n in cases:
            load(url, method=method, headers=auth, body=body, total=args.concurrency * 2, concurrency=args.concurrency)
        print(f"full stack: gunicorn --workers {args.workers} (sync), {args.concurrency} client threads")
        print(f"{'endpoint':28} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
        for label, method, url, body, n in cases:
            r = load(url, method=method, headers=auth, body=body, total=n, concurrency=args.concurrency)
            print(f"{label:28} {r['n']:>8} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['errors']:>6}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def replay_bench(tenant: Tenant, steps: int) -> None:
    settings.AOS_MAX_PLAN_STEPS = max(settings.AOS_MAX_PLAN_STEPS, steps)
    plan = [
        {"skill": "json_transform", "params": {"payload": {"i": i, "x": [i, i * 2]}, "query": "x[1]"}}
        for i in range(steps)
    ]
    started = time.perf_counter()
    run = run_start(tenant=tenant, wait=True, plan=plan, seed=3, timestamp="2025-01-01T00:00:00Z")
    run_seconds = time.perf_counter() - started
    assert run.status == "succeeded", run.error_message
    print(f"\nreplay of a {steps}-step run ({connection.vendor}); the run itself took {run_seconds * 1000:.0f} ms")
    for dry_run in (False, True):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            result = run_replay(tenant=tenant, run_id=run.run_id, dry_run=dry_run)
            wall = time.perf_counter() - started
        label = "dry run (compare only)" if dry_run else "stored (replay trace + steps)"
        print(
            f"  {label:32} {wall * 1000:8.0f} ms  {len(ctx.captured_queries):4} SQL queries  parity={result['parity']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint (runs: half)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replay-steps", type=int, default=1000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug="bench-runtime", defaults={"name": "Bench", "tier": "unlimited"})
    Tenant.objects.filter(pk=tenant.pk).update(budget_cents=10**6)
    tenant.refresh_from_db()
    _, raw_key = api_key_create(tenant=tenant, role=Role.DEVELOPER, name="bench")
    db = settings.DATABASES["default"]
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}; cache: {settings.CACHES['default']['BACKEND']}")
    full_stack(args, raw_key)
    replay_bench(tenant, args.replay_steps)


if __name__ == "__main__":
    main()
