"""Load-test outputs with known numbers, in the shapes k6 v1.1 and locust 2.x write them.

The shapes follow the documented formats and the recorded real run in `fixtures/slo/`:
- k6 `--out json`: a `{"type":"Metric",...}` line when a metric first appears, then one
  `{"metric":...,"type":"Point","data":{"time","value","tags"}}` line per sample;
- k6 `--summary-export`: flat metric objects, rate metrics as `{passes, fails, value}` where `passes`
  counts the non-zero samples (for http_req_failed: the failed requests), checks keyed by name;
- k6 `handleSummary` data: `{type, contains, values}` per metric, checks and groups as lists;
- locust `--csv`: `_stats.csv` with the header below and a final `Aggregated` row.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

LOCUST_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
LOCUST_PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")
TIME = "2026-01-01T00:00:00.000000Z"
K6_SEPARATORS = (",", ":")  # k6 writes compact lines, keys in this order: the parser's fast path sees real lines


def spread(count: int, *, step: float) -> list[float]:
    """0, step, 2·step, ...: with count = 1001 the linear-interpolated p50/p95/p99 are 500/950/990 steps."""
    return [i * step for i in range(count)]


@dataclass
class K6Requests:
    """Samples for one request name; `failed` of them are 500s (http_req_failed = 1)."""

    durations_ms: Sequence[float]
    name: str = "simulate"
    failed: int = 0


@dataclass
class K6Run:
    requests: list[K6Requests]
    parity_passes: int = 0
    parity_fails: int = 0
    extra_lines: list[str] = field(default_factory=list)


def _metric_line(name: str, kind: str, contains: str) -> str:
    data = {"name": name, "type": kind, "contains": contains, "thresholds": [], "submetrics": None}
    return json.dumps({"type": "Metric", "data": data, "metric": name}, separators=K6_SEPARATORS)


def _point(metric: str, value: float, tags: dict[str, str]) -> str:
    point = {"metric": metric, "type": "Point", "data": {"time": TIME, "value": value, "tags": tags}}
    return json.dumps(point, separators=K6_SEPARATORS)


def k6_ndjson(run: K6Run, *, seed: int = 7) -> str:
    """k6 `--out json` lines for the run, samples shuffled (order must not matter)."""
    samples = []
    for group in run.requests:
        for index, duration in enumerate(group.durations_ms):
            samples.append((group.name, duration, index < group.failed))
    random.Random(seed).shuffle(samples)
    lines = [
        _metric_line("http_reqs", "counter", "default"),
        _metric_line("http_req_duration", "trend", "time"),
        _metric_line("http_req_failed", "rate", "default"),
        _metric_line("checks", "rate", "default"),
    ]
    for name, duration, failed in samples:
        tags = {
            "expected_response": "false" if failed else "true",
            "group": "",
            "method": "POST",
            "name": name,
            "proto": "HTTP/1.1",
            "scenario": "simulate",
            "status": "500" if failed else "200",
            "url": f"http://127.0.0.1:8000/{name}",
        }
        lines.append(_point("http_reqs", 1, tags))
        lines.append(_point("http_req_duration", duration, tags))
        lines.append(_point("http_req_failed", 1 if failed else 0, tags))
        check_tags = {"check": "status is 200", "group": "", "scenario": "simulate"}
        lines.append(_point("checks", 0 if failed else 1, check_tags))
    parity_tags = {"check": "parity", "group": "", "scenario": "simulate"}
    lines += [_point("checks", 1, parity_tags)] * run.parity_passes
    lines += [_point("checks", 0, parity_tags)] * run.parity_fails
    return "\n".join(lines + run.extra_lines) + "\n"


@dataclass
class K6Summary:
    """Given summary values: the parsers must report exactly these."""

    requests: int
    failed: int
    p50: float
    p95: float
    p99: float | None
    simulate_requests: int | None = None  # None: no {name:simulate} submetrics at all
    simulate_failed: int = 0
    parity_passes: int | None = None
    parity_fails: int = 0


def _trend(summary: K6Summary) -> dict[str, float]:
    values = {"avg": summary.p50, "min": 0.5, "med": summary.p50, "max": summary.p95 * 2, "p(90)": summary.p95 * 0.9}
    values.update({"p(50)": summary.p50, "p(95)": summary.p95})
    if summary.p99 is not None:
        values["p(99)"] = summary.p99
    return values


def k6_summary_export(summary: K6Summary) -> str:
    def failed_rate(failed: int, total: int) -> dict[str, float]:
        return {"passes": failed, "fails": total - failed, "value": failed / total if total else 0}

    trend = _trend(summary)
    metrics: dict[str, dict] = {
        "http_reqs": {"count": summary.requests, "rate": summary.requests / 30},
        "http_req_duration": trend,
        "http_req_failed": failed_rate(summary.failed, summary.requests),
        "vus": {"value": 1, "min": 1, "max": 10},
    }
    if summary.simulate_requests is not None:
        metrics["http_req_duration{name:simulate}"] = {**trend, "thresholds": {"p(95)<500": summary.p95 >= 500}}
        # Declared by the script's threshold: the given percentiles are over the successful responses.
        metrics["http_req_duration{name:simulate,expected_response:true}"] = dict(trend)
        metrics["http_reqs{name:simulate}"] = {"count": summary.simulate_requests, "rate": 1.0}
        metrics["http_req_failed{name:simulate}"] = failed_rate(summary.simulate_failed, summary.simulate_requests)
        # The overall trend differs, so reading it instead of the submetric shows in the numbers.
        metrics["http_req_duration"] = {key: value + 1000 for key, value in trend.items()}
    checks: dict[str, dict] = {
        "status is 200": {"name": "status is 200", "path": "::status is 200", "id": "a", "passes": 1, "fails": 0}
    }
    if summary.parity_passes is not None:
        parity = {"passes": summary.parity_passes, "fails": summary.parity_fails}
        checks["parity"] = {"name": "parity", "path": "::parity", "id": "b", **parity}
    root = {"name": "", "path": "", "id": "r", "groups": {}, "checks": checks}
    return json.dumps({"root_group": root, "metrics": metrics}, indent=2)


def k6_handle_summary(summary: K6Summary, *, parity_in_group: bool = True) -> str:
    def metric(kind: str, values: dict, contains: str = "default") -> dict:
        return {"type": kind, "contains": contains, "values": values}

    def failed_rate(failed: int, total: int) -> dict:
        return metric("rate", {"passes": failed, "fails": total - failed, "rate": failed / total if total else 0})

    trend = _trend(summary)
    metrics = {
        "http_reqs": metric("counter", {"count": summary.requests, "rate": summary.requests / 30}),
        "http_req_duration": metric("trend", trend, "time"),
        "http_req_failed": failed_rate(summary.failed, summary.requests),
        "checks": metric("rate", {"passes": 1, "fails": 0, "rate": 1}),
    }
    if summary.simulate_requests is not None:
        metrics["http_req_duration{name:simulate}"] = metric("trend", trend, "time")
        metrics["http_req_duration{name:simulate,expected_response:true}"] = metric("trend", trend, "time")
        metrics["http_reqs{name:simulate}"] = metric("counter", {"count": summary.simulate_requests, "rate": 1.0})
        metrics["http_req_failed{name:simulate}"] = failed_rate(summary.simulate_failed, summary.simulate_requests)
        metrics["http_req_duration"] = metric("trend", {key: value + 1000 for key, value in trend.items()}, "time")
    group_checks = []
    if summary.parity_passes is not None:
        group_checks.append(
            {
                "name": "parity",
                "path": "::api::parity",
                "id": "p",
                "passes": summary.parity_passes,
                "fails": summary.parity_fails,
            }
        )
    # A nested group: the parity check is found wherever the script put it.
    group = {"name": "api", "path": "::api", "id": "g", "groups": [], "checks": group_checks}
    root = {
        "name": "",
        "path": "",
        "id": "r",
        "groups": [group] if parity_in_group else [],
        "checks": [{"name": "status is 200", "path": "::status is 200", "id": "s", "passes": 1, "fails": 0}]
        + ([] if parity_in_group else group_checks),
    }
    state = {"isStdOutTTY": False, "isStdErrTTY": False, "testRunDurationMs": 30000}
    options = {"summaryTrendStats": ["avg", "min", "med", "max", "p(50)", "p(90)", "p(95)", "p(99)"]}
    return json.dumps({"root_group": root, "options": options, "state": state, "metrics": metrics}, indent=2)


@dataclass
class LocustRow:
    name: str
    count: int
    failures: int = 0
    p50: float = 10
    p95: float = 20
    p99: float = 30
    kind: str = "POST"


def locust_stats_csv(rows: list[LocustRow], *, aggregated: LocustRow | None = None) -> str:
    def line(row: LocustRow, kind: str) -> str:
        per = dict.fromkeys(LOCUST_PERCENTILES, row.p99)
        per.update({"50%": row.p50, "66%": row.p50, "75%": row.p50, "80%": row.p50, "90%": row.p95})
        per.update({"95%": row.p95, "98%": row.p99, "99%": row.p99})
        cells = [kind, row.name, row.count, row.failures, row.p50, row.p50, 1, row.p99, 658.0, 10.0, 0.0]
        if row.count == 0:
            per = dict.fromkeys(LOCUST_PERCENTILES, "N/A")
            cells[4:8] = [0, 0.0, 0, 0]
        return ",".join(str(c) for c in [*cells, *per.values()])

    total = aggregated or LocustRow(
        "Aggregated", sum(r.count for r in rows), sum(r.failures for r in rows), p50=9, p95=19, p99=29
    )
    return "\n".join([LOCUST_HEADER, *(line(r, r.kind) for r in rows), line(total, "")]) + "\n"
