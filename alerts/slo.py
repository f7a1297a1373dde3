"""Load-test results → SLO report (PRODUCT.md §11). Pure: no database, no Django.

Inputs: k6 `--out json` NDJSON, k6 `--summary-export` JSON, k6 `handleSummary` data JSON and locust
`--csv` stats. Each parser turns the vendor shape into one `Measurements`; `evaluate` checks it
against the SLOs. Percentiles from raw samples use linear interpolation between the closest ranks
(rank = p/100 · (n − 1), the method k6 itself uses, so NDJSON and summaries of one run agree);
from summaries the tool's own values are taken as given. An input without samples raises
`NoSamplesError`: it is never a pass.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("k6-json", "k6-summary", "k6-handle-summary", "locust")
SIMULATE = "simulate"
PARITY_CHECK = "parity"
PASS, BREACH, NO_DATA = "PASS", "BREACH", "NO DATA"
CRITICAL, WARNING = "critical", "warning"


class SloInputError(ValueError):
    """The input cannot be read as any supported load-test output."""


class NoSamplesError(SloInputError):
    """The input holds no request samples, so no SLO can be judged."""


@dataclass
class Measurements:
    """What one load test measured, in our own terms (ms, ratios 0..1)."""

    source_format: str
    requests: int  # all HTTP requests
    failed_requests: int | None
    simulate_requests: int | None  # requests the latency/error SLOs are about
    simulate_failed: int | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    availability: float | None
    parity_checks: int | None
    parity_failures: int | None
    fell_back: bool = False  # no request was named "simulate": the SLOs are over all requests
    notes: list[str] = field(default_factory=list)

    @property
    def parity_failure_rate(self) -> float | None:
        if not self.parity_checks or self.parity_failures is None:
            return None
        return self.parity_failures / self.parity_checks


@dataclass(frozen=True)
class SloDefinition:
    name: str
    measure: str  # attribute of Measurements
    comparison: str  # "<" or ">"
    threshold: float
    unit: str  # "ms" or "%"
    severity: str


# PRODUCT.md §11. Ratios are compared as ratios; "%" only changes how they are printed.
SLOS = (
    SloDefinition("p95 latency", "p95_ms", "<", 500.0, "ms", CRITICAL),
    SloDefinition("p99 latency", "p99_ms", "<", 1000.0, "ms", WARNING),
    SloDefinition("error rate", "error_rate", "<", 0.01, "%", CRITICAL),
    SloDefinition("availability", "availability", ">", 0.995, "%", CRITICAL),
    SloDefinition("parity failures", "parity_failure_rate", "<", 0.001, "%", WARNING),
)


@dataclass(frozen=True)
class SloResult:
    name: str
    target: str
    measured: float | None
    measured_text: str
    severity: str
    status: str


@dataclass
class SloReport:
    source: str
    measurements: Measurements
    results: list[SloResult]

    def failing(self, *, critical_only: bool = False) -> list[SloResult]:
        """SLOs that are not a pass: a breach, or no data to judge them (never assumed passing)."""
        return [r for r in self.results if r.status != PASS and (not critical_only or r.severity == CRITICAL)]


# --- percentiles ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    """Linear interpolation between the closest ranks (k6's and numpy's default method)."""
    if not sorted_values:
        raise NoSamplesError("no samples to compute a percentile from")
    rank = pct / 100.0 * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _is_simulate(name: Any) -> bool:
    return isinstance(name, str) and SIMULATE in name.lower()


# --- k6 --out json (NDJSON) ----------------------------------------------------------------------


@dataclass
class _Requests:
    durations: list[float] = field(default_factory=list)
    failed_by_tag: int = 0
    failed_points: int = 0
    failed_seen: bool = False


def parse_k6_ndjson(lines: Iterable[str]) -> Measurements:
    """k6 `--out json`: one JSON object a line, `Metric` declarations and `Point` samples."""
    simulate, others = _Requests(), _Requests()
    parity_checks = parity_failures = 0
    seen_lines = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        seen_lines += 1
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
            group = simulate if _is_simulate(tags.get("name")) else others
            group.durations.append(value)
            group.failed_by_tag += tags.get("expected_response") == "false"
        elif metric == "http_req_failed":
            group = simulate if _is_simulate(tags.get("name")) else others
            group.failed_seen = True
            group.failed_points += value != 0
        elif metric == "checks" and tags.get("check") == PARITY_CHECK:
            parity_checks += 1
            parity_failures += value == 0
    if seen_lines == 0:
        raise NoSamplesError("the file is empty")
    total = len(simulate.durations) + len(others.durations)
    if total == 0:
        raise NoSamplesError("no http_req_duration samples in the k6 output")

    # http_req_failed is k6's own verdict; without it, the expected_response tag says the same.
    use_points = simulate.failed_seen or others.failed_seen

    def failed(group: _Requests) -> int:
        return group.failed_points if use_points else group.failed_by_tag

    notes = []
    subject = simulate
    fell_back = not simulate.durations
    if fell_back:
        subject = _Requests(durations=others.durations)
        subject.failed_points, subject.failed_by_tag = others.failed_points, others.failed_by_tag
        notes.append(_fallback_note("no k6 request is tagged with a name containing 'simulate'"))
    durations = sorted(subject.durations)
    all_failed = failed(simulate) + failed(others)
    return Measurements(
        source_format="k6-json",
        requests=total,
        failed_requests=all_failed,
        simulate_requests=len(durations),
        simulate_failed=failed(subject),
        p50_ms=percentile(durations, 50),
        p95_ms=percentile(durations, 95),
        p99_ms=percentile(durations, 99),
        error_rate=failed(subject) / len(durations),
        availability=1 - all_failed / total,
        parity_checks=parity_checks or None,
        parity_failures=parity_failures if parity_checks else None,
        fell_back=fell_back,
        notes=notes,
    )


def _fallback_note(reason: str) -> str:
    return f"{reason}: latency and error rate are computed over ALL requests instead."


# --- k6 summaries (--summary-export and handleSummary data) --------------------------------------


def _submetric_tags(key: str, metric: str) -> dict[str, str] | None:
    """`http_req_duration{name:simulate,method:POST}` → {"name": "simulate", "method": "POST"}."""
    if not (key.startswith(metric + "{") and key.endswith("}")):
        return None
    tags = {}
    for part in key[len(metric) + 1 : -1].split(","):
        tag, _, value = part.partition(":")
        tags[tag.strip()] = value.strip()
    return tags


def _simulate_key(metrics: dict[str, Any], metric: str) -> str | None:
    exact = f"{metric}{{name:{SIMULATE}}}"
    if exact in metrics:
        return exact
    for key in sorted(metrics):
        tags = _submetric_tags(key, metric)
        if tags and _is_simulate(tags.get("name")):
            return key
    return None


def _number(values: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _summary_measurements(
    *,
    source_format: str,
    metrics: dict[str, Any],
    values_of: Callable[[Any], Any],
    parity: tuple[int, int] | None,
    failed_count: Callable[[dict[str, Any]], int | None],
) -> Measurements:
    def values(key: str | None) -> dict[str, Any] | None:
        if key is None or key not in metrics:
            return None
        found = values_of(metrics[key])
        if not isinstance(found, dict):
            raise SloInputError(f"metric {key!r} has no values object")
        return found

    notes: list[str] = []
    overall_trend = values("http_req_duration")
    if overall_trend is None:
        raise NoSamplesError("no http_req_duration metric in the k6 summary (no requests were made)")
    reqs = values("http_reqs")
    failed_all = values("http_req_failed")
    total = _number(reqs, "count") if reqs else None
    if total is None and failed_all is not None:
        passes, fails = _number(failed_all, "passes"), _number(failed_all, "fails")
        total = passes + fails if passes is not None and fails is not None else None
    if total is None:
        raise SloInputError("the k6 summary has neither http_reqs.count nor http_req_failed counts")
    if total == 0:
        raise NoSamplesError("the k6 summary counts zero HTTP requests")
    requests = int(total)

    trend_key = _simulate_key(metrics, "http_req_duration")
    simulate_count_values = values(_simulate_key(metrics, "http_reqs"))
    simulate_requests = int(_number(simulate_count_values, "count") or 0) if simulate_count_values else None
    fell_back = trend_key is None or simulate_requests == 0
    if fell_back:
        trend_key = "http_req_duration"
        simulate_requests = requests
        notes.append(_fallback_note("no k6 submetric http_req_duration{name:...simulate...} with samples"))
    trend = values(trend_key) or {}

    failed_all_count = failed_count(failed_all) if failed_all is not None else None
    if failed_all is None:
        notes.append("no http_req_failed metric: error rate and availability cannot be computed.")
    error_key = _simulate_key(metrics, "http_req_failed") if trend_key != "http_req_duration" else None
    simulate_failed_values = values(error_key)
    if simulate_failed_values is not None:
        simulate_failed = failed_count(simulate_failed_values)
        simulate_total = simulate_requests
        passes, fails = _number(simulate_failed_values, "passes"), _number(simulate_failed_values, "fails")
        if passes is not None and fails is not None:
            simulate_total = int(passes + fails)
        error_rate = _ratio(simulate_failed, simulate_total)
    else:
        simulate_failed, error_rate = failed_all_count, _ratio(failed_all_count, requests)
        if failed_all is not None and trend_key != "http_req_duration":
            notes.append("no http_req_failed{name:...simulate...} submetric: error rate is over all requests.")

    p50 = _number(trend, "p(50)", "med")
    p95 = _number(trend, "p(95)")
    p99 = _number(trend, "p(99)")
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
        error_rate=error_rate,
        availability=None if failed_all_count is None else 1 - failed_all_count / requests,
        parity_checks=(parity[0] + parity[1]) if parity else None,
        parity_failures=parity[1] if parity else None,
        fell_back=fell_back,
        notes=notes,
    )


def _rate_failures(values: dict[str, Any], total_of_rate: int | None = None) -> int | None:
    """A k6 rate metric counts its non-zero samples as `passes`; for http_req_failed those are failures."""
    passes = _number(values, "passes")
    if passes is not None:
        return int(passes)
    rate = _number(values, "value", "rate")
    if rate is not None and total_of_rate is not None:
        return round(rate * total_of_rate)
    return None


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


def _parity_from_metric(values: dict[str, Any] | None) -> tuple[int, int] | None:
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
    total = _number(metrics.get("http_reqs") or {}, "count")
    parity = _parity_from_groups(data) or _parity_from_metric(metrics.get("checks{check:parity}"))
    return _summary_measurements(
        source_format="k6-summary",
        metrics=metrics,
        values_of=lambda metric: metric,
        parity=parity,
        failed_count=lambda values: _rate_failures(values, int(total) if total is not None else None),
    )


def parse_k6_handle_summary(data: dict[str, Any]) -> Measurements:
    """k6 `handleSummary(data)` JSON: metrics with `type`/`values`, checks and groups as lists."""
    metrics = _metrics_of(data)
    total = _number((metrics.get("http_reqs") or {}).get("values") or {}, "count")
    parity_metric = (metrics.get("checks{check:parity}") or {}).get("values")
    parity = _parity_from_groups(data) or _parity_from_metric(parity_metric)
    return _summary_measurements(
        source_format="k6-handle-summary",
        metrics=metrics,
        values_of=lambda metric: metric.get("values") if isinstance(metric, dict) else None,
        parity=parity,
        failed_count=lambda values: _rate_failures(values, int(total) if total is not None else None),
    )


def _metrics_of(data: Any) -> dict[str, Any]:
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise SloInputError("not a k6 summary: no 'metrics' object")
    if not metrics:
        raise NoSamplesError("the k6 summary has no metrics (no requests were made)")
    return metrics


# --- locust --csv --------------------------------------------------------------------------------

LOCUST_COLUMNS = ("Type", "Name", "Request Count", "Failure Count")
LOCUST_CHECK_TYPE = "CHECK"


def _locust_int(row: dict[str, str], column: str) -> int:
    try:
        return int(float(row[column]))
    except (KeyError, TypeError, ValueError):
        raise SloInputError(f"locust row {row.get('Name')!r}: {column!r} is not a number") from None


def _locust_ms(row: dict[str, str], *columns: str) -> float | None:
    for column in columns:
        value = (row.get(column) or "").strip()
        if value and value != "N/A":
            try:
                return float(value)
            except ValueError:
                raise SloInputError(f"locust row {row.get('Name')!r}: {column!r} is not a number") from None
    return None


def parse_locust_stats(stats_csv: str, failures_csv: str | None = None) -> Measurements:
    """locust `--csv PREFIX` → `PREFIX_stats.csv` (one row per request name, then `Aggregated`)."""
    rows = list(csv.DictReader(stats_csv.splitlines()))
    if not stats_csv.strip():
        raise NoSamplesError("the file is empty")
    header = rows[0].keys() if rows else next(csv.reader(stats_csv.splitlines()), [])
    missing = [column for column in LOCUST_COLUMNS if column not in header]
    if missing:
        raise SloInputError(f"not a locust stats CSV: missing columns {', '.join(missing)}")
    aggregated = [r for r in rows if r["Name"] == "Aggregated" and not r["Type"]]
    checks = [r for r in rows if r["Type"] == LOCUST_CHECK_TYPE]
    http = [r for r in rows if r not in aggregated and r not in checks]
    total = sum(_locust_int(r, "Request Count") for r in http)
    if total == 0:
        raise NoSamplesError("the locust stats count zero requests")
    failed_all = sum(_locust_int(r, "Failure Count") for r in http)

    notes = ["locust percentiles are approximated by locust (response times rounded when recorded)."]
    subject = [r for r in http if _is_simulate(r["Name"]) and _locust_int(r, "Request Count") > 0]
    fell_back = not subject
    if fell_back:
        notes.append(_fallback_note("no locust request is named with 'simulate'"))
        subject = [r for r in http if _locust_int(r, "Request Count") > 0]
        if len(subject) > 1 and aggregated and not checks:
            subject = aggregated  # the Aggregated row's percentiles are over exactly these requests
    if len(subject) > 1:
        # Locust writes no merged percentiles for a subset of rows: report the worst row's (an upper bound).
        notes.append(f"percentiles are the highest of {len(subject)} locust rows (an upper bound).")

    def worst(*columns: str) -> float | None:
        found = [v for v in (_locust_ms(r, *columns) for r in subject) if v is not None]
        return max(found) if found else None

    simulate_total = sum(_locust_int(r, "Request Count") for r in subject)
    simulate_failed = sum(_locust_int(r, "Failure Count") for r in subject)
    parity_checks = sum(_locust_int(r, "Request Count") for r in checks if r["Name"] == PARITY_CHECK)
    parity_failures = sum(_locust_int(r, "Failure Count") for r in checks if r["Name"] == PARITY_CHECK)
    if not parity_checks:
        notes.append(f"no locust '{PARITY_CHECK}' check rows: the parity SLO cannot be checked.")
    notes.extend(_locust_failure_notes(failures_csv))
    return Measurements(
        source_format="locust",
        requests=total,
        failed_requests=failed_all,
        simulate_requests=simulate_total,
        simulate_failed=simulate_failed,
        p50_ms=worst("50%", "Median Response Time"),
        p95_ms=worst("95%"),
        p99_ms=worst("99%"),
        error_rate=simulate_failed / simulate_total,
        availability=1 - failed_all / total,
        parity_checks=parity_checks or None,
        parity_failures=parity_failures if parity_checks else None,
        fell_back=fell_back,
        notes=notes,
    )


def _locust_failure_notes(failures_csv: str | None, limit: int = 3) -> list[str]:
    if not failures_csv:
        return []
    rows = [r for r in csv.DictReader(failures_csv.splitlines()) if r.get("Name")]
    rows.sort(key=lambda r: -int(float(r.get("Occurrences") or 0)))
    return [
        f"locust failure: {r.get('Method', '')} {r['Name']}: {r.get('Error', '')} ×{r.get('Occurrences', '?')}"
        for r in rows[:limit]
    ]


# --- reading files -------------------------------------------------------------------------------


def locust_paths(path: Path) -> tuple[Path, Path] | None:
    """A locust stats CSV, or the `--csv` prefix, → (stats, failures) paths; None if neither."""
    if path.name.endswith("_stats.csv") and path.is_file():
        return path, path.with_name(path.name[: -len("_stats.csv")] + "_failures.csv")
    prefixed = path.with_name(path.name + "_stats.csv")
    if not path.exists() and prefixed.is_file():
        return prefixed, path.with_name(path.name + "_failures.csv")
    return None


def detect_format(path: Path) -> str:
    """Guess the format from the file name and its first bytes."""
    if locust_paths(path) is not None:
        return "locust"
    head = _read_text(path)[:4096].lstrip()
    if not head:
        raise NoSamplesError(f"{path}: the file is empty")
    if head.startswith("Type,Name,") or path.suffix == ".csv":
        return "locust"
    if not head.startswith("{"):
        raise SloInputError(f"{path}: not a k6 JSON output or a locust stats CSV")
    first_line = head.splitlines()[0]
    try:
        first = json.loads(first_line)
    except json.JSONDecodeError:
        first = None
    if isinstance(first, dict) and first.get("type") in ("Metric", "Point"):
        return "k6-json"
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise SloInputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise SloInputError(f"{path}: JSON without a 'metrics' object is not a k6 summary")
    if any(isinstance(m, dict) and isinstance(m.get("values"), dict) for m in metrics.values()):
        return "k6-handle-summary"
    return "k6-summary"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SloInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SloInputError(f"{path}: cannot be read ({exc})") from None


def load(path: Path, fmt: str | None = None) -> Measurements:
    """Read one load-test output file (format auto-detected unless given)."""
    fmt = fmt or detect_format(path)
    if fmt == "locust":
        paths = locust_paths(path)
        stats_path, failures_path = paths if paths else (path, None)
        failures = _read_text(failures_path) if failures_path and failures_path.is_file() else None
        try:
            return parse_locust_stats(_read_text(stats_path), failures)
        except csv.Error as exc:
            raise SloInputError(f"{stats_path}: malformed CSV ({exc})") from None
    text = _read_text(path)
    if not text.strip():
        raise NoSamplesError(f"{path}: the file is empty")
    if fmt == "k6-json":
        return parse_k6_ndjson(text.splitlines())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SloInputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if fmt == "k6-summary":
        return parse_k6_summary_export(data)
    if fmt == "k6-handle-summary":
        return parse_k6_handle_summary(data)
    raise SloInputError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


# --- evaluation and rendering --------------------------------------------------------------------


def _format_value(value: float, unit: str) -> str:
    return f"{value:.2f} ms" if unit == "ms" else f"{value * 100:.3f} %"


def evaluate(measurements: Measurements, *, source: str = "") -> SloReport:
    results = []
    for slo in SLOS:
        measured = getattr(measurements, slo.measure)
        if measured is None:
            status, text = NO_DATA, "unavailable"
        else:
            ok = measured < slo.threshold if slo.comparison == "<" else measured > slo.threshold
            status, text = (PASS if ok else BREACH), _format_value(measured, slo.unit)
        target = f"{slo.comparison} {_format_value(slo.threshold, slo.unit)}".replace(".00 ms", " ms")
        results.append(SloResult(slo.name, target, measured, text, slo.severity, status))
    return SloReport(source=source, measurements=measurements, results=results)


def report_text(report: SloReport) -> str:
    m = report.measurements
    subject = "simulate requests" if not m.fell_back else "requests (all; see notes)"
    lines = [
        f"SLO report for {report.source or '-'} ({m.source_format})",
        f"{'n/a' if m.simulate_requests is None else m.simulate_requests} {subject}, {m.requests} requests in all, "
        f"p50 {_format_value(m.p50_ms, 'ms') if m.p50_ms is not None else 'unavailable'}",
        "",
        f"{'SLO':<17} {'target':<12} {'measured':<13} {'severity':<9} result",
    ]
    for r in report.results:
        lines.append(f"{r.name:<17} {r.target:<12} {r.measured_text:<13} {r.severity:<9} {r.status}")
    failing = report.failing()
    critical = sum(r.severity == CRITICAL for r in failing)
    lines += ["", f"{len(failing)} not passing ({critical} critical, {len(failing) - critical} warning)"]
    if m.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in m.notes)]
    return "\n".join(lines) + "\n"


def report_json(report: SloReport) -> dict[str, Any]:
    measured = asdict(report.measurements)
    notes = measured.pop("notes")
    measured["parity_failure_rate"] = report.measurements.parity_failure_rate
    failing = report.failing()
    return {
        "source": report.source,
        "format": report.measurements.source_format,
        "measurements": measured,
        "slos": [asdict(r) for r in report.results],
        "not_passing": {
            "critical": sum(r.severity == CRITICAL for r in failing),
            "warning": sum(r.severity == WARNING for r in failing),
        },
        "notes": notes,
    }
