"""Alerts and ops-tooling benchmarks (printed, not asserted), each against a baseline in the same run.

    .venv/bin/python bench/bench_alerts.py                                   # embedded default, temp SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_al .venv/bin/python bench/bench_alerts.py

1. POST /api/v1/alerts/webhook with Alertmanager payloads of N alerts (half new, half repeats), through the
   real view, against the obvious per-alert loop (`update_or_create` + F() increment) storing the same
   payloads: time per payload and SQL queries.
2. `slo_report`'s k6 NDJSON reader (streamed) on a generated `--out json` file, against reading the whole
   file and `json.loads` of every line (the obvious reader): time and peak Python memory (tracemalloc).

Options: `--alerts` (per payload, default 100), `--payloads` (default 20), `--k6-requests` (default 100,000).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.pop("REDIS_URL", None)  # not rate limited, no cache in the path: measure the store
if os.environ.get("DATABASE_URL"):
    ensure_database(os.environ["DATABASE_URL"])
else:
    os.environ.setdefault("SQLITE_PATH", str(Path(tempfile.gettempdir()) / "aos-bench-alerts.sqlite3"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from alerts.models import Alert  # noqa: E402
from alerts.serializers import WebhookPayload  # noqa: E402
from alerts.slo_inputs import load  # noqa: E402
from tests.alerts.slo_fixtures import K6Requests, K6Run, k6_ndjson  # noqa: E402

TOKEN = "bench-token"


def payload(batch: int, size: int, start: datetime) -> dict:
    """Half of the alerts repeat the previous payload's second half, half are new."""
    first = batch * size // 2
    alerts = []
    for index in range(first, first + size):
        labels = {"alertname": "AOSBench", "severity": "warning", "tenant_id": f"t{index % 7}", "n": str(index)}
        alerts.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"bench alert {index}"},
                "startsAt": (start + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": f"{index:016x}",
            }
        )
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "aos",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


def naive_store(data: dict) -> None:
    """The obvious implementation: one update_or_create and one increment per alert."""
    with transaction.atomic():
        for alert in data["alerts"]:
            row, created = Alert.objects.update_or_create(
                fingerprint=alert["fingerprint"],
                status=alert["status"],
                starts_at=alert["startsAt"],
                defaults={
                    "ends_at": alert["endsAt"],
                    "labels": alert["labels"],
                    "annotations": alert["annotations"],
                    "generator_url": alert["generatorURL"],
                    "receiver": data["receiver"],
                    "alertname": alert["labels"].get("alertname", ""),
                },
            )
            if not created:
                Alert.objects.filter(pk=row.pk).update(notifications=F("notifications") + 1)


def bench_webhook(size: int, payloads: int) -> None:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    bodies = [payload(i, size, start) for i in range(payloads)]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    def through_view() -> tuple[list[float], int]:
        times, queries = [], 0
        for body in bodies:
            connection.queries_log.clear()  # a full log (9,000) would make the count read 0
            with CaptureQueriesContext(connection) as ctx:
                began = time.perf_counter()
                response = client.post("/api/v1/alerts/webhook", body, format="json")
                times.append(time.perf_counter() - began)
            assert response.status_code == 200, response.content
            queries = len(ctx.captured_queries)
        return times, queries

    def baseline() -> tuple[list[float], int]:
        times, queries = [], 0
        for body in bodies:
            serializer = WebhookPayload(data=body)
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as ctx:
                began = time.perf_counter()
                serializer.is_valid(raise_exception=True)
                naive_store(serializer.validated_data)
                times.append(time.perf_counter() - began)
            queries = len(ctx.captured_queries)
        return times, queries

    results = {}
    for name, fn in (("webhook view (bulk store)", through_view), ("per-alert update_or_create", baseline)):
        Alert.objects.all().delete()
        times, queries = fn()
        stored = Alert.objects.count()
        results[name] = statistics.median(times)
        print(
            f"  {name:28} median {statistics.median(times) * 1000:8.1f} ms per {size}-alert payload, "
            f"{queries:4} queries (last payload), {stored} rows"
        )
    ours, naive = results.values()
    print(f"  ratio: the per-alert loop takes {naive / ours:.1f}x the webhook's time (same payloads, same run)")
    Alert.objects.all().delete()


def bench_k6_reader(requests: int) -> None:
    durations = [(i % 1000) * 0.5 for i in range(requests)]
    run = K6Run(requests=[K6Requests(durations_ms=durations, failed=requests // 200)], parity_passes=requests)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k6.ndjson"
        path.write_text(k6_ndjson(run))
        size_mb = path.stat().st_size / 1e6

        def ours():
            return load(path).p95_ms

        def naive():
            points = [json.loads(line) for line in path.read_text().splitlines() if line]
            values = sorted(
                p["data"]["value"]
                for p in points
                if p.get("type") == "Point" and p["metric"] == "http_req_duration" and p["data"]["tags"]["name"]
            )
            rank = 0.95 * (len(values) - 1)
            low = int(rank)
            return values[low] + (values[min(low + 1, len(values) - 1)] - values[low]) * (rank - low)

        results = {}
        for name, fn in (("slo_report reader (streamed)", ours), ("read all + json.loads", naive)):
            began = time.perf_counter()
            p95 = fn()
            elapsed = time.perf_counter() - began
            tracemalloc.start()  # a second pass: tracing slows Python down, so it is not timed
            fn()
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            results[name] = (elapsed, peak)
            print(f"  {name:30} {elapsed:6.2f} s, peak {peak:7.1f} MB, p95 {p95:.2f} ms ({size_mb:.0f} MB file)")
        (t_ours, m_ours), (t_naive, m_naive) = results.values()
        ratio = f"{t_naive / t_ours:.1f}x the time and {m_naive / m_ours:.0f}x the memory"
        print(f"  ratio: the naive reader takes {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--payloads", type=int, default=20)
    parser.add_argument("--k6-requests", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    backend = connection.vendor
    print(f"alerts webhook ({backend}): {args.payloads} payloads of {args.alerts} alerts, half repeats")
    with override_settings(ALERTS_WEBHOOK_TOKEN=TOKEN):
        bench_webhook(args.alerts, args.payloads)
    print(f"k6 NDJSON reader: {args.k6_requests:,} requests")
    bench_k6_reader(args.k6_requests)


if __name__ == "__main__":
    main()
