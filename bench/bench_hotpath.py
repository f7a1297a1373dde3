"""In-process cost of the hot path (issue 15): CPU time per request through the whole Django stack.

    .venv/bin/python bench/bench_hotpath.py                          # embedded default (temp SQLite, locmem)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_perf REDIS_URL=redis://127.0.0.1:6379/5 \
      .venv/bin/python bench/bench_hotpath.py --requests 2000
    .venv/bin/python bench/bench_hotpath.py --profile simulate      # cProfile of that case, top functions

Django's test client (every middleware, DRF, the real views; no sockets, so no HTTP parsing or
server threads) sends the cases of bench/bench_http.py: `GET /health`, `GET /api/v1/me`, `POST
simulate` (the 2-step plan, API key, rate limiting on, the tenant on a counted tier so the limiter
runs) and, with `--runs`, `POST runs` with `wait: true`. Cases alternate in batches of `--batch`
requests; printed per case: the median over batches of the process CPU time per request
(`time.process_time`, which a loaded machine moves much less than wall-clock time) and of the wall
time. Each response is checked (status) before timing. Settings as bench_http: DEBUG off,
LOG_LEVEL WARNING.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(tmp: Path) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        DEBUG="0",
        LOG_LEVEL="WARNING",
        RATELIMIT_ENABLE="1",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production-0123456789",
        AOS_SECRETS_KEYS=os.environ.get("AOS_SECRETS_KEYS") or Fernet.generate_key().decode(),
        AOS_ENV_FILE=str(tmp / "no.env"),
        DJANGO_SETTINGS_MODULE="aosproject.settings",
    )
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    else:
        from bench.common import ensure_database

        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_key(tier: str) -> str:
    from accounts.models import Tenant
    from accounts.services import api_key_create

    tenant, _ = Tenant.objects.update_or_create(
        slug="bench-hotpath",
        defaults={"name": "bench", "tier": tier, "max_concurrent": 10000, "budget_cents": 10**9},
    )
    return api_key_create(tenant=tenant, role="developer", name="bench_hotpath")[1]


def cases(with_runs: bool) -> dict[str, tuple[str, str, dict | None]]:
    from bench.bench_http import two_step_plan

    plan = two_step_plan()
    out = {
        "health": ("GET", "/health", None),
        "me": ("GET", "/api/v1/me", None),
        "simulate": ("POST", "/api/v1/runtime/simulate", {"plan": plan, "seed": 1}),
    }
    if with_runs:
        out["runs"] = ("POST", "/api/v1/runtime/runs", {"plan": plan, "seed": 1, "input": {"price": 1}, "wait": True})
    return out


def sender(client, key: str, method: str, path: str, body: dict | None):
    headers = {"Authorization": f"Bearer {key}"}
    if method == "GET":
        return lambda: client.get(path, headers=headers)
    data = json.dumps(body)
    return lambda: client.post(path, data=data, content_type="application/json", headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per case")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--tier", default="enterprise", help="the tenant's tier (a counted one runs the limiter)")
    parser.add_argument("--runs", action="store_true", help="also POST runs (wait: true)")
    parser.add_argument("--worker", action="store_true", help="start a Celery worker (threads x 8) for the runs")
    parser.add_argument("--worker-log", type=int, default=0, help="print the last N characters of its log")
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--profile", default="", help="cProfile this case instead of timing; print the top")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aos-bench-hot-"))
    setup_django(tmp)
    key = make_key(args.tier)
    worker = start_worker(tmp) if args.worker else None
    try:
        measure(args, key)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            if args.worker_log:
                print((tmp / "worker.log").read_text(errors="replace")[-args.worker_log :])


def start_worker(tmp: Path) -> subprocess.Popen:
    """A Celery worker (threads pool, as bench_http starts it) on REDIS_URL; waits until it consumes."""
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("--worker needs REDIS_URL (the embedded default executes runs inline)")
    log = tmp / "worker.log"
    pool = os.environ.get("BENCH_WORKER_POOL", "threads")
    profile = os.environ.get("BENCH_WORKER_PROFILE")  # a file: the worker runs under cProfile (use -P solo)
    prof = ["-m", "cProfile", "-o", profile] if profile else []
    args = [sys.executable, *prof, "-m", "celery", "-A", "aosproject", "worker", "-P", pool, "-c", "8", "-l", "info"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    end = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def measure(args, key: str) -> None:
    from django.test import Client

    client = Client()
    wanted = {n for n in args.only.split(",") if n}
    selected = {n: c for n, c in cases(args.runs).items() if not wanted or n in wanted}
    senders = {name: sender(client, key, *case) for name, case in selected.items()}
    for name, send in senders.items():
        response = send()
        if response.status_code >= 300:
            raise SystemExit(f"{name} answered {response.status_code}: {response.content[:300]!r}")
        for _ in range(20):  # warm: caches, lazy imports, compiled validators
            send()

    if args.profile:
        send = senders[args.profile]
        profiler = cProfile.Profile(time.process_time)  # CPU time: waits on Redis/SQL do not count
        profiler.enable()
        for _ in range(args.requests):
            send()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(args.top)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        return

    cpu: dict[str, list[float]] = {n: [] for n in senders}
    wall: dict[str, list[float]] = {n: [] for n in senders}
    batches = max(1, args.requests // args.batch)
    for _ in range(batches):
        for name, send in senders.items():
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.batch):
                send()
            cpu[name].append((time.process_time() - c0) / args.batch * 1e6)
            wall[name].append((time.perf_counter() - w0) / args.batch * 1e6)
    backend = "PostgreSQL + Redis" if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL") else "embedded"
    print(
        f"# bench_hotpath: {backend}, tier {args.tier}, {batches} batches x {args.batch} requests per case, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("| case | CPU µs/request (median) | CPU min | wall µs/request (median) |")
    print("|---|---|---|---|")
    for name in senders:
        print(
            f"| {name} | {statistics.median(cpu[name]):.0f} | {min(cpu[name]):.0f} "
            f"| {statistics.median(wall[name]):.0f} |"
        )


if __name__ == "__main__":
    main()
