"""Load-test measurements → SLO report (PRODUCT.md §11). Pure: no database, no Django.

`alerts.slo_inputs` turns k6 and locust outputs into one `Measurements`; `evaluate` checks it against
the SLOs and `report_text` / `report_json` render the result. An SLO without data to judge it is
`NO DATA`, never a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The SLOs are about the requests named "simulate" (k6 tag `name`, locust request name) and the
# check named "parity" (same plan and seed → byte-identical answer, PRODUCT.md §4).
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
    error_rate: float | None  # failed / all simulate requests
    parity_checks: int | None
    parity_failures: int | None
    fell_back: bool = False  # no request was named "simulate": the SLOs are over all requests
    notes: list[str] = field(default_factory=list)

    @property
    def availability(self) -> float | None:
        """Share of ALL HTTP requests not failed (k6 http_req_failed, locust failures: status >= 400 or none)."""
        if self.failed_requests is None or not self.requests:
            return None
        return 1 - self.failed_requests / self.requests

    @property
    def parity_failure_rate(self) -> float | None:
        if not self.parity_checks or self.parity_failures is None:
            return None
        return self.parity_failures / self.parity_checks


def is_simulate(name: Any) -> bool:
    return isinstance(name, str) and SIMULATE in name.lower()


def fallback_note(reason: str) -> str:
    return f"{reason}: latency and error rate are computed over ALL requests instead."


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
    measured["availability"] = report.measurements.availability
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
