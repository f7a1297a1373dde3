"""Trace benchmarks (printed, not asserted). Needs PostgreSQL; uses its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_tr .venv/bin/python bench/bench_traces.py

1. Ingest of a 1,000-step SDK trace through the API view (time, queries).
2. The list endpoint with 100,000 traces in the tenant (first page, a deep cursor page, filters).
3. `prune_traces` deleting 200,000 steps, against one raw SQL DELETE of the same rows, same run.

The database named in DATABASE_URL is created when missing and its trace tables are emptied.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aos_bench_tr")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
os.environ["RATELIMIT_ENABLE"] = "0"
os.environ.pop("REDIS_URL", None)  # local-memory cache: the bench measures traces, not Redis
os.environ["LOG_LEVEL"] = "WARNING"

LIST_TRACES = 100_000
PRUNE_TRACES = 2_000
PRUNE_STEPS_PER_TRACE = 100  # 200,000 steps


ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import Role, Tenant  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from aos_sdk.trace import Trace as TraceBuilder  # noqa: E402
from traces.models import Trace, TraceStep  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(fn, repeat: int = 5):
    """(median seconds, queries of the last run, last result)."""
    times = []
    result = None
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries, result


def client_for(tenant: Tenant) -> APIClient:
    _, raw = api_key_create(tenant=tenant, role=Role.OPERATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def reset() -> tuple[Tenant, Tenant]:
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE traces_tracestep, traces_mismatch, traces_trace, traces_retentionrun CASCADE")
    Tenant.objects.filter(slug__startswith="bench").delete()
    main = Tenant.objects.create(slug="bench", name="Bench", tier="unlimited", retention_days=30)
    prune = Tenant.objects.create(slug="bench-prune", name="Bench prune", tier="unlimited", retention_days=30)
    return main, prune


def bench_ingest(client: APIClient) -> None:
    def payload(n: int) -> dict:
        builder = TraceBuilder(seed=n, timestamp="2025-01-01T00:00:00Z", trace_id=f"ingest-{n}")
        for i in range(1000):
            builder.add_step(
                skill="json_transform" if i % 3 else "http_call",
                params={"payload": {"i": i, "text": "lorem ipsum " * 4}, "mapping": {"y": "payload.i"}},
                output={"y": i, "items": list(range(5)), "note": "ok"},
                duration_ms=3.5,
                cost_cents=0.01,
            )
        return builder.to_dict()

    payloads = [payload(n) for n in range(5)]
    counter = iter(range(5))

    def post():
        response = client.post("/api/v1/traces/", payloads[next(counter)], format="json")
        assert response.status_code == 201, response.content[:300]
        return response

    seconds, queries, _ = timed(post, repeat=5)
    body_kb = len(__import__("json").dumps(payloads[0])) / 1024
    print(f"ingest 1,000-step trace ({body_kb:.0f} KiB JSON): median {ms(seconds)} over 5, {queries} queries")
    print(f"  steps stored: {TraceStep.objects.filter(trace__trace_id__startswith='ingest-').count()}")


def insert_traces(*, tenant: Tenant, count: int, age_days: int, prefix: str) -> None:
    """Rows straight from generate_series: creating 100k traces through the API would take minutes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO traces_trace (trace_id, run_id, tenant_id, source, replay_of_id, agent_id, plan, plan_hash,
                input, seed, frozen_timestamp, status, root_hash, metadata, budget_cents, error_code, error_message,
                pinned, redacted, total_steps, total_cost_cents, total_duration_ms, created_at, updated_at, finished_at)
            SELECT %s || g, NULL, %s, CASE WHEN g %% 3 = 0 THEN 'run' ELSE 'ingest' END, NULL, 'agent-' || (g %% 50),
                '[{"skill": "json_transform", "params": {}}]', md5(g::text) || md5((g + 1)::text), NULL, g,
                '2025-01-01T00:00:00Z', CASE WHEN g %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
                md5((g * 7)::text) || md5((g * 11)::text), '{}', NULL, '', '', false, false, 0, 0, 0,
                now() - make_interval(days => %s) - make_interval(secs => g), now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [prefix, tenant.pk, age_days, count],
        )
        cursor.execute("ANALYZE traces_trace")


def insert_steps(*, tenant: Tenant, per_trace: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO traces_tracestep (trace_id, index, skill_id, skill_version, params, output, status,
                error_code, error_message, input_hash, output_hash, step_hash, cost_cents, duration_ms,
                retry_count, idempotency_key, replay_behaviour)
            SELECT t.id, g, 'json_transform', '1', '{"payload": {"x": 1}}', '{"y": 1}', 'succeeded', '', '',
                md5(g::text) || md5(t.id::text), md5(t.id::text) || md5(g::text), md5((t.id + g)::text) || md5(g::text),
                0.01, 2, 0, '', 'check'
            FROM traces_trace t CROSS JOIN generate_series(0, %s - 1) AS g
            WHERE t.tenant_id = %s
            """,
            [per_trace, tenant.pk],
        )
        cursor.execute("ANALYZE traces_tracestep")


def bench_list(client: APIClient, tenant: Tenant) -> None:
    started = time.perf_counter()
    insert_traces(tenant=tenant, count=LIST_TRACES, age_days=0, prefix="list-")
    total = Trace.objects.filter(tenant=tenant).count()
    print(f"list endpoint with {total:,} traces in the tenant (rows inserted in {time.perf_counter() - started:.1f}s):")

    def get(params):
        response = client.get("/api/v1/traces/", params)
        assert response.status_code == 200, response.content[:300]
        return response

    seconds, queries, first = timed(lambda: get({"limit": 50}))
    print(f"  first page (50):                {ms(seconds)}, {queries} queries")
    cursor_url = first.json()["next"]
    for _ in range(20):  # walk 20 pages deep through the cursor
        cursor_url = client.get(cursor_url).json()["next"]
    seconds, queries, _ = timed(lambda: client.get(cursor_url))
    print(f"  page 22 via cursor:             {ms(seconds)}, {queries} queries")
    seconds, queries, _ = timed(lambda: get({"status": "failed", "limit": 50}))
    print(f"  status=failed:                  {ms(seconds)}, {queries} queries")
    seconds, queries, _ = timed(lambda: get({"agent_id": "agent-7", "source": "run", "limit": 50}))
    print(f"  agent_id + source:              {ms(seconds)}, {queries} queries")
    some = Trace.objects.filter(tenant=tenant).order_by("id")[LIST_TRACES // 2]
    seconds, queries, _ = timed(lambda: get({"root_hash": some.root_hash}))
    print(f"  root_hash=<one>:                {ms(seconds)}, {queries} queries")
    seconds, queries, _ = timed(lambda: get({"skill": "json_transform", "limit": 50}))
    print(f"  skill=json_transform (ingests): {ms(seconds)}, {queries} queries")


def cutoff_sql() -> str:
    return """
        SELECT id FROM traces_trace t
        WHERE t.tenant_id = %s AND t.created_at < now() - interval '30 days' AND NOT t.pinned
          AND NOT EXISTS (SELECT 1 FROM traces_mismatch m WHERE m.trace_id = t.id AND NOT m.resolved)
    """


def bench_prune(tenant: Tenant) -> None:
    def load() -> int:
        insert_traces(tenant=tenant, count=PRUNE_TRACES, age_days=60, prefix="old-")
        insert_steps(tenant=tenant, per_trace=PRUNE_STEPS_PER_TRACE)
        with connection.cursor() as cursor:  # both contenders start from the same table state
            cursor.execute("VACUUM ANALYZE traces_trace")
            cursor.execute("VACUUM ANALYZE traces_tracestep")
        return TraceStep.objects.filter(trace__tenant=tenant).count()

    def command() -> int:
        with CaptureQueriesContext(connection) as ctx:
            call_command("prune_traces", "--tenant", tenant.slug, "--batch-size", "1000", stdout=open(os.devnull, "w"))
        return len(ctx.captured_queries)

    def raw() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH doomed AS ({cutoff_sql()}),
                     gone_steps AS (DELETE FROM traces_tracestep WHERE trace_id IN (SELECT id FROM doomed))
                DELETE FROM traces_trace WHERE id IN (SELECT id FROM doomed)
                """,
                [tenant.pk],
            )
            assert cursor.rowcount == PRUNE_TRACES
        return 1

    results: dict[str, list[float]] = {"command": [], "raw": []}
    queries = {}
    # Alternated, three times each, so neither side always runs on the warmer cache.
    order = [("command", command), ("raw", raw), ("raw", raw), ("command", command), ("command", command), ("raw", raw)]
    for name, fn in order:
        steps = load()
        started = time.perf_counter()
        queries[name] = fn()
        results[name].append(time.perf_counter() - started)
        assert not Trace.objects.filter(tenant=tenant).exists()
        assert not TraceStep.objects.filter(trace__tenant=tenant).exists()

    cmd, sql = statistics.mean(results["command"]), statistics.mean(results["raw"])
    print(f"prune {PRUNE_TRACES:,} traces / {steps:,} steps (PostgreSQL {connection.pg_version}), alternated x3:")
    runs = ", ".join(f"{t:.2f}s" for t in results["command"])
    print(f"  manage.py prune_traces --batch-size 1000: mean {cmd:.2f}s ({runs}), {queries['command']} queries")
    runs = ", ".join(f"{t:.2f}s" for t in results["raw"])
    print(f"  one raw SQL DELETE (CTE: steps + traces):  mean {sql:.2f}s ({runs})")
    print(f"  ratio command/raw: {cmd / sql:.2f}x")


def main() -> None:
    assert connection.vendor == "postgresql", "the benchmarks need PostgreSQL (DATABASE_URL)"
    main_tenant, prune_tenant = reset()
    client = client_for(main_tenant)
    print(f"database {connection.settings_dict['NAME']}, Django {django.get_version()}")
    bench_ingest(client)
    bench_list(client, main_tenant)
    bench_prune(prune_tenant)


if __name__ == "__main__":
    main()
