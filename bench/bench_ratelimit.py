"""Rate-limit benchmark (printed, not asserted): cost of the limiter on a cheap endpoint.

    .venv/bin/python bench/bench_ratelimit.py [--requests 3000] [--rounds 3]

Starts its own redis-server on a free port (the limiter's cache; nothing shared is touched) and
a temporary SQLite database, creates a tenant and an API key, then sends `GET /api/v1/me`
through Django's in-process test client (no sockets: the limiter's share is not hidden by HTTP
parsing) in interleaved phases:

- off:   RATELIMIT_ENABLE = False
- fused: the production path, `accounts.ratelimit_cache.FusedCounterRedisCache`
- stock: django-ratelimit on plain `django_redis.cache.RedisCache` (for comparison)

Per phase: req/s (best of the rounds), the on/off ratio, Redis commands per request from
`INFO commandstats` (before/after) and client round trips per request (calls into redis-py's
`execute_command`, one network round trip each).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(workdir: str) -> tuple[subprocess.Popen, int]:
    import redis

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(250):
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("redis-server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("needs the redis-server binary")

    workdir = tempfile.mkdtemp(prefix="aos-bench-rl-")
    redis_process, port = start_redis(workdir)
    try:
        run(args, port, workdir)
    finally:
        redis_process.kill()
        redis_process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, port: int, workdir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="aosproject.settings",
        SQLITE_PATH=str(Path(workdir) / "bench.sqlite3"),
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        CELERY_TASK_ALWAYS_EAGER="1",
        LOG_LEVEL="WARNING",
        DEBUG="0",  # DEBUG keeps every SQL query in memory
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production-0123456789",
        RATELIMIT_TIER_OVERRIDES="pro=1000000000",  # measure counting, never 429
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.CACHES["ratelimit_stock"] = {**settings.CACHES["default"], "BACKEND": "django_redis.cache.RedisCache"}
    call_command("migrate", verbosity=0)

    from accounts.models import Role, Tenant
    from accounts.services import api_key_create

    tenant = Tenant.objects.create(slug="bench", name="Bench", tier="pro")
    _, raw_key = api_key_create(tenant=tenant, role=Role.VIEWER)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", secure=True)
    server = redis.Redis(port=port)

    round_trips = Counter()
    original_execute = redis.Redis.execute_command

    def counting_execute(self, *command, **options):
        round_trips[command[0]] += 1
        return original_execute(self, *command, **options)

    redis.Redis.execute_command = counting_execute

    phases = {
        "off": {"RATELIMIT_ENABLE": False},
        "fused": {"RATELIMIT_ENABLE": True, "RATELIMIT_USE_CACHE": "ratelimit"},
        "stock": {"RATELIMIT_ENABLE": True, "RATELIMIT_USE_CACHE": "ratelimit_stock"},
    }
    best: dict[str, float] = {}
    commands: dict[str, Counter] = {name: Counter() for name in phases}
    trips: dict[str, Counter] = {name: Counter() for name in phases}
    counted: dict[str, int] = dict.fromkeys(phases, 0)

    for overrides in phases.values():  # warm-up: connections, script load, first key
        for key, value in overrides.items():
            setattr(settings, key, value)
        for _ in range(50):
            assert client.get("/api/v1/me").status_code == 200

    for _ in range(args.rounds):
        for name, overrides in phases.items():
            for key, value in overrides.items():
                setattr(settings, key, value)
            stats_before = server.info("commandstats")
            round_trips.clear()
            started = time.perf_counter()
            for _ in range(args.requests):
                response = client.get("/api/v1/me")
                assert response.status_code == 200, response.content
            elapsed = time.perf_counter() - started
            trips[name].update(round_trips)
            stats_after = server.info("commandstats")
            for stat, values in stats_after.items():
                delta = values["calls"] - stats_before.get(stat, {}).get("calls", 0)
                if stat != "cmdstat_info" and delta:
                    commands[name][stat.removeprefix("cmdstat_")] += delta
            counted[name] += args.requests
            best[name] = max(best.get(name, 0.0), args.requests / elapsed)

    print(f"GET /api/v1/me, in-process client, {args.requests} requests x {args.rounds} rounds per phase")
    print(f"{'phase':<7} {'req/s (best)':>12} {'vs off':>7}  {'round trips/req':>15}  Redis commands/req")
    for name in phases:
        per_request = {cmd: calls / counted[name] for cmd, calls in sorted(commands[name].items()) if calls}
        trips_per_request = sum(trips[name].values()) / counted[name]
        shown = ", ".join(f"{cmd} {value:.2f}" for cmd, value in per_request.items()) or "none"
        ratio = best[name] / best["off"]
        print(f"{name:<7} {best[name]:>12.0f} {ratio:>7.3f}  {trips_per_request:>15.2f}  {shown}")
    print("(commands run inside a script, e.g. INCR/EXPIRE under EVALSHA, count in commandstats but are no round trip)")


if __name__ == "__main__":
    main()
