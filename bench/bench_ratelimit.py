"""Rate-limit benchmark (printed, not asserted): cost of the limiter on a cheap endpoint.

    .venv/bin/python bench/bench_ratelimit.py [--requests 3000] [--rounds 3]

Starts its own redis-server on a free port (the limiter's cache; nothing shared is touched) and
a temporary SQLite database, creates a tenant and an API key, then sends `GET /api/v1/me`
through Django's in-process test client (no sockets: the limiter's share is not hidden by HTTP
parsing) in interleaved phases:

- off:   RATELIMIT_ENABLE = False
- fused: the production path, `accounts.ratelimit_cache.FusedCounterRedisCache`
- stock: django-ratelimit on plain `django_redis.cache.RedisCache` (for comparison)

Phases alternate in batches of `--batch` requests; per phase: median batch req/s, the on/off
ratio, the limiter's own cost (µs per `rate_limit_hit`), Redis commands per request from
`INFO commandstats` (before/after) and client round trips per request (calls into redis-py's
`execute_command`, one network round trip each).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
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
    parser.add_argument("--batch", type=int, default=100, help="requests per interleaved batch")
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
    batch_rates: dict[str, list[float]] = {name: [] for name in phases}
    commands: dict[str, Counter] = {name: Counter() for name in phases}
    trips: dict[str, Counter] = {name: Counter() for name in phases}
    counted: dict[str, int] = dict.fromkeys(phases, 0)

    for overrides in phases.values():  # warm-up: connections, script load, first key
        for key, value in overrides.items():
            setattr(settings, key, value)
        for _ in range(50):
            assert client.get("/api/v1/me").status_code == 200

    # Phases alternate in small batches so load changes on the machine hit all of them alike;
    # the median batch rate is reported.
    batches = max(1, args.requests // args.batch)
    for _ in range(args.rounds * batches):
        for name, overrides in phases.items():
            for key, value in overrides.items():
                setattr(settings, key, value)
            stats_before = server.info("commandstats")
            round_trips.clear()
            started = time.perf_counter()
            for _ in range(args.batch):
                response = client.get("/api/v1/me")
                assert response.status_code == 200, response.content
            elapsed = time.perf_counter() - started
            trips[name].update(round_trips)
            stats_after = server.info("commandstats")
            for stat, values in stats_after.items():
                delta = values["calls"] - stats_before.get(stat, {}).get("calls", 0)
                if stat != "cmdstat_info" and delta:
                    commands[name][stat.removeprefix("cmdstat_")] += delta
            counted[name] += args.batch
            batch_rates[name].append(args.batch / elapsed)

    # The limiter alone: one counted request through the throttle's call, no HTTP, no database.
    from accounts.principal import Principal
    from accounts.ratelimit import rate_limit_hit

    principal = Principal(subject="bench", tenant=tenant, roles=frozenset(), tier="pro", method="api_key")
    limiter_us: dict[str, float] = {}
    for name, overrides in phases.items():
        for key, value in overrides.items():
            setattr(settings, key, value)
        started = time.perf_counter()
        for _ in range(args.requests):
            rate_limit_hit(principal=principal)
        limiter_us[name] = (time.perf_counter() - started) / args.requests * 1e6

    best = {name: statistics.median(rates) for name, rates in batch_rates.items()}
    print(
        f"GET /api/v1/me, in-process client, {counted['off']} requests per phase "
        f"in {len(batch_rates['off'])} interleaved batches of {args.batch}"
    )
    header = ("phase", "req/s (median)", "vs off", "limiter µs", "round trips/req")
    print(f"{header[0]:<7} {header[1]:>14} {header[2]:>7} {header[3]:>10}  {header[4]:>15}  Redis commands/req")
    for name in phases:
        per_request = {cmd: calls / counted[name] for cmd, calls in sorted(commands[name].items()) if calls}
        trips_per_request = sum(trips[name].values()) / counted[name]
        shown = ", ".join(f"{cmd} {value:.2f}" for cmd, value in per_request.items()) or "none"
        ratio = best[name] / best["off"]
        cost = limiter_us[name]
        print(f"{name:<7} {best[name]:>14.0f} {ratio:>7.3f} {cost:>10.1f}  {trips_per_request:>15.2f}  {shown}")
    print("(commands run inside a script, e.g. INCR/EXPIRE under EVALSHA, count in commandstats but are no round trip)")


if __name__ == "__main__":
    main()
