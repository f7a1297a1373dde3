"""k6 outputs → `Measurements`: `--out json` NDJSON, `--summary-export` JSON and `handleSummary` data JSON.

Percentiles from raw samples use linear interpolation between the closest ranks (rank = p/100 · (n − 1),
the method k6 itself uses, so the NDJSON and the summaries of one run agree); from summaries k6's own
values are taken as given. Pure: no database, no Django.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from alerts.slo import PARITY_CHECK, SIMULATE, Measurements, NoSamplesError, SloInputError, fallback_note, is_simulate


def percentile(sorted_values: list[float], pct: float) -> float:
    """Linear interpolation between the closest ranks (k6's and numpy's default method)."""
    if not sorted_values:
        raise NoSamplesError("no samples to compute a percentile from")
    rank = pct / 100.0 * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


# --- k6 --out json (NDJSON) ----------------------------------------------------------------------


# k6 writes a sample as `{"metric":"<name>","type":"Point",...}`. Most samples of a real run are of metrics
# we do not read (http_req_waiting, data_sent, iterations, ...): they are skipped without parsing them.
_POINT_PREFIX = '{"metric":"'
_READ_METRICS = ("http_req_duration", "http_req_failed", "checks")
_READ_POINT_PREFIXES = tuple(f'{_POINT_PREFIX}{metric}"' for metric in _READ_METRICS)


@dataclass
class _Requests:
    # Latency is over successful responses only, as k6's http_req_duration{expected_response:true}:
    # a refused connection "answers" in 0 ms, so with the server down p95 would read 0.00 ms, a PASS.
    durations: list[float] = field(default_factory=list)  # expected_response:true
    untagged: list[float] = field(default_factory=list)  # no expected_response tag: success unknown
    count: int = 0
    failed_by_tag: int = 0
    tagged: int = 0  # samples carrying k6's expected_response tag
    failed_points: int = 0
    failed_seen: bool = False


def parse_k6_ndjson(lines: Iterable[str]) -> Measurements:
    """k6 `--out json`: one JSON object a line, `Metric` declarations and `Point` samples.

    Streams: only the request durations (floats) and counters are kept, never the lines."""
    simulate, others = _Requests(), _Requests()
    parity_checks = parity_failures = 0
    seen_lines = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        seen_lines += 1
        if line.startswith(_POINT_PREFIX) and not line.startswith(_READ_POINT_PREFIXES):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SloInputError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(entry, dict) or entry.get("type") not in ("Metric", "Point"):
            raise SloInputError(f"line {number}: not a k6 JSON output line (no type Metric/Point)")
        if entry["type"] != "Point":
            continue
        data = entry.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("value"), int | float):
            raise SloInputError(f"line {number}: k6 Point without a numeric data.value")
        tags = data.get("tags") or {}
        metric, value = entry.get("metric"), float(data["value"])
        if metric == "http_req_duration":
            group = simulate if is_simulate(tags.get("name")) else others
            group.count += 1
            expected = tags.get("expected_response")
            if expected == "true":
                group.durations.append(value)
            elif expected is None:
                group.untagged.append(value)
            group.tagged += expected is not None
            group.failed_by_tag += tags.get("expected_response") == "false"
        elif metric == "http_req_failed":
            group = simulate if is_simulate(tags.get("name")) else others
            group.failed_seen = True
            group.failed_points += value != 0
        elif metric == "checks" and tags.get("check") == PARITY_CHECK:
            parity_checks += 1
            parity_failures += value == 0
    if seen_lines == 0:
        raise NoSamplesError("the file is empty")
    total = simulate.count + others.count
    if total == 0:
        raise NoSamplesError("no http_req_duration samples in the k6 output")

    # http_req_failed is k6's own verdict; without it, the expected_response tag says the same.
    use_points = simulate.failed_seen or others.failed_seen
    use_tags = not use_points and simulate.tagged + others.tagged == total
    notes = []
    if not (use_points or use_tags):
        notes.append("no http_req_failed samples or expected_response tags: errors and availability are unknown.")

    def failed(group: _Requests) -> int | None:
        return group.failed_points if use_points else group.failed_by_tag if use_tags else None

    subject = simulate
    fell_back = not simulate.count
    if fell_back:
        subject = others
        notes.append(fallback_note("no k6 request is tagged with a name containing 'simulate'"))
    subject_failed, simulate_failed, others_failed = failed(subject), failed(simulate), failed(others)
    latencies = subject.durations
    if subject.untagged:
        if subject_failed == 0:
            latencies += subject.untagged  # nothing failed: every untagged sample is a success
        else:
            notes.append(
                f"{len(subject.untagged)} request(s) without k6's expected_response tag left out of latency "
                "(whether they succeeded is unknown)."
            )
    if not latencies:
        notes.append("no successful request: latency has no data (failed requests are not timed).")
    latencies.sort()  # in place: a huge run is not held twice
    return Measurements(
        source_format="k6-json",
        requests=total,
        failed_requests=None if simulate_failed is None or others_failed is None else simulate_failed + others_failed,
        simulate_requests=subject.count,
        simulate_failed=subject_failed,
        p50_ms=percentile(latencies, 50) if latencies else None,
        p95_ms=percentile(latencies, 95) if latencies else None,
        p99_ms=percentile(latencies, 99) if latencies else None,
        error_rate=None if subject_failed is None else subject_failed / subject.count,
        parity_checks=parity_checks or None,
        parity_failures=parity_failures if parity_checks else None,
        fell_back=fell_back,
        notes=notes,
    )


# --- k6 summaries (--summary-export and handleSummary data) --------------------------------------
#
# Verified on k6 v1.1.0 (every --summary-mode): both summaries count a rate metric's non-zero samples
# as `passes` and its zero samples as `fails`. For http_req_failed `passes` are therefore the FAILED
# requests; for checks they are the passed checks. Only the wrapping differs: handleSummary nests
# the numbers under `values` (and says `rate`), --summary-export has them flat (and says `value`).


def _submetric_tags(key: str, metric: str) -> dict[str, str] | None:
    """`http_req_duration{name:simulate,method:POST}` → {"name": "simulate", "method": "POST"}."""
    if not (key.startswith(metric + "{") and key.endswith("}")):
        return None
    tags = {}
    for part in key[len(metric) + 1 : -1].split(","):
        tag, _, value = part.partition(":")
        tags[tag.strip()] = value.strip()
    return tags


def _simulate_key(metrics: dict[str, Any], metric: str, *, successful: bool = False) -> str | None:
    """The submetric of the simulate requests (only `name`), or with `successful` of their
    successful responses (`name` and `expected_response:true`, declared by a threshold)."""
    exact = f"{metric}{{name:{SIMULATE}}}"
    if not successful and exact in metrics:
        return exact
    for key in sorted(metrics):
        tags = _submetric_tags(key, metric)
        if not tags or not is_simulate(tags.get("name")):
            continue
        rest = {k: v for k, v in tags.items() if k != "name"}
        if rest == ({"expected_response": "true"} if successful else {}):
            return key
    return None


def _number(values: dict[str, Any] | None, *names: str) -> float | None:
    for name in names:
        value = (values or {}).get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _rate_failures(values: dict[str, Any] | None) -> int | None:
    """http_req_failed's `passes` are its non-zero samples: the failed requests (see above)."""
    passes = _number(values, "passes")
    return None if passes is None else int(passes)


def _rate_total(values: dict[str, Any] | None) -> int | None:
    passes, fails = _number(values, "passes"), _number(values, "fails")
    return None if passes is None or fails is None else int(passes + fails)


def _first_known(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


def _count(values: dict[str, Any] | None) -> int | None:
    count = _number(values, "count")
    return None if count is None else int(count)


def _trend_count(trend: dict[str, Any]) -> int | None:
    # k6 writes a submetric declared by a threshold even when no sample matched it: every stat is 0.
    count = _count(trend)
    if count is not None:
        return count
    stats = [v for v in trend.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return 0 if stats and not any(stats) else None


def _summary_measurements(
    *, source_format: str, metrics: dict[str, Any], values_of: str | None, parity: tuple[int, int] | None
) -> Measurements:
    def values(key: str | None) -> dict[str, Any] | None:
        if key is None or key not in metrics:
            return None
        metric = metrics[key]
        found = metric.get(values_of) if values_of and isinstance(metric, dict) else metric
        if not isinstance(found, dict):
            raise SloInputError(f"metric {key!r} has no values object")
        return found

    notes: list[str] = []
    overall_trend = values("http_req_duration")
    if overall_trend is None:
        raise NoSamplesError("no http_req_duration metric in the k6 summary (no requests were made)")
    failed_all = values("http_req_failed")
    requests = _first_known(_count(values("http_reqs")), _rate_total(failed_all))
    if requests is None:
        raise SloInputError("the k6 summary has neither http_reqs.count nor http_req_failed counts")
    if requests == 0:
        raise NoSamplesError("the k6 summary counts zero HTTP requests")
    failed_all_count = _rate_failures(failed_all)
    if failed_all_count is None:
        notes.append("no http_req_failed counts: error rate and availability cannot be computed.")

    # The script declares the successful-responses submetric; an older one only {name:simulate}.
    trend_key = _simulate_key(metrics, "http_req_duration") or _simulate_key(
        metrics, "http_req_duration", successful=True
    )
    trend = values(trend_key)
    simulate_failed_values = values(_simulate_key(metrics, "http_req_failed"))
    simulate_requests = _first_known(
        _count(values(_simulate_key(metrics, "http_reqs"))),
        _rate_total(simulate_failed_values),
        _trend_count(trend) if trend is not None else None,
    )
    fell_back = trend is None or simulate_requests == 0
    if fell_back:
        trend, simulate_requests, simulate_failed_values = overall_trend, requests, None
        notes.append(fallback_note("no k6 submetric http_req_duration{name:...simulate...} with samples"))

    if simulate_failed_values is not None and _rate_total(simulate_failed_values):
        simulate_failed = _rate_failures(simulate_failed_values)
        error_total = _rate_total(simulate_failed_values)
    else:
        simulate_failed, error_total = failed_all_count, requests
        if not fell_back and failed_all_count is not None:
            notes.append("no http_req_failed{name:...simulate...} submetric: error rate is over all requests.")

    trend = _successful_trend(
        values=values,
        metrics=metrics,
        trend=trend,
        fell_back=fell_back,
        failed=simulate_failed,
        notes=notes,
    )
    p50, p95, p99 = _number(trend, "p(50)", "med"), _number(trend, "p(95)"), _number(trend, "p(99)")
    for label, value in (("p(95)", p95), ("p(99)", p99)):
        if value is None:
            notes.append(f"{label} is not in the summary (add it to summaryTrendStats): its SLO cannot be checked.")
    if parity is None:
        notes.append(f"no '{PARITY_CHECK}' check in the summary: the parity SLO cannot be checked.")
    return Measurements(
        source_format=source_format,
        requests=requests,
        failed_requests=failed_all_count,
        simulate_requests=simulate_requests,
        simulate_failed=simulate_failed,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        error_rate=None if simulate_failed is None or not error_total else simulate_failed / error_total,
        parity_checks=(parity[0] + parity[1]) if parity else None,
        parity_failures=parity[1] if parity else None,
        fell_back=fell_back,
        notes=notes,
    )


def _successful_trend(*, values, metrics, trend, fell_back: bool, failed: int | None, notes: list[str]):
    """The latency trend over successful responses only (k6's expected_response:true), or None.

    1. `http_req_duration{name:simulate,expected_response:true}` (the script declares it);
    2. the simulate trend when none of its requests failed (then the two are the same);
    3. k6's own `http_req_duration{expected_response:true}`, over every request (noted);
    a trend with no sample (every request failed: the server was down) is no data, never 0 ms.
    """
    chosen = None if fell_back else values(_simulate_key(metrics, "http_req_duration", successful=True))
    if chosen is None and failed == 0:
        chosen = trend
    if chosen is None:
        chosen = values("http_req_duration{expected_response:true}")
        if chosen is not None and not fell_back:
            notes.append(
                "latency is over every successful request (no http_req_duration{name:simulate,"
                "expected_response:true} submetric in the summary)."
            )
    if chosen is None:
        notes.append("no latency over successful responses in the summary (expected_response:true): no data.")
        return None
    if _trend_count(chosen) == 0:
        notes.append("no successful request: latency has no data (failed requests are not timed).")
        return None
    return chosen


def _members(container: Any) -> list[Any]:
    # --summary-export keys checks and groups by name; handleSummary data lists them.
    if isinstance(container, dict):
        return list(container.values())
    return list(container) if isinstance(container, list) else []


def _walk_checks(group: dict[str, Any]) -> Iterator[Any]:
    yield from _members(group.get("checks"))
    for child in _members(group.get("groups")):
        if isinstance(child, dict):
            yield from _walk_checks(child)


def _parity_from_groups(data: dict[str, Any]) -> tuple[int, int] | None:
    root = data.get("root_group")
    if not isinstance(root, dict):
        return None
    found = None
    try:
        for check in _walk_checks(root):
            if isinstance(check, dict) and check.get("name") == PARITY_CHECK:
                passes, fails = int(check.get("passes", 0)), int(check.get("fails", 0))
                found = (passes + found[0], fails + found[1]) if found else (passes, fails)
    except (AttributeError, TypeError, ValueError) as exc:
        raise SloInputError(f"root_group checks are malformed ({exc})") from None
    return found


def _parity_from_metric(values: Any) -> tuple[int, int] | None:
    # For the checks rate metric, `passes` are passed checks (a passed check is the non-zero value).
    if not isinstance(values, dict):
        return None
    passes, fails = _number(values, "passes"), _number(values, "fails")
    if passes is None or fails is None:
        return None
    return int(passes), int(fails)


def parse_k6_summary_export(data: dict[str, Any]) -> Measurements:
    """k6 `--summary-export`: flat metric objects (`{"avg": .., "p(95)": ..}`), checks keyed by name."""
    metrics = _metrics_of(data)
    parity = _parity_from_groups(data) or _parity_from_metric(metrics.get("checks{check:parity}"))
    return _summary_measurements(source_format="k6-summary", metrics=metrics, values_of=None, parity=parity)


def parse_k6_handle_summary(data: dict[str, Any]) -> Measurements:
    """k6 `handleSummary(data)` JSON: metrics with `type`/`values`, checks and groups as lists."""
    metrics = _metrics_of(data)
    parity = _parity_from_groups(data) or _parity_from_metric((metrics.get("checks{check:parity}") or {}).get("values"))
    return _summary_measurements(source_format="k6-handle-summary", metrics=metrics, values_of="values", parity=parity)


def _metrics_of(data: Any) -> dict[str, Any]:
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise SloInputError("not a k6 summary: no 'metrics' object")
    if not metrics:
        raise NoSamplesError("the k6 summary has no metrics (no requests were made)")
    return metrics
