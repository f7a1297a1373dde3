"""End-to-end test reports: one small model of a test run (read by `alerts.e2e_inputs` from pytest-json-report
JSON, JUnit XML or AOS harness JSON), its summary (totals, pass rate, failures, slowest tests, per-module table)
and its text, Markdown and JSON renderings.

Pure: no database, no Django. Counting rules (PRODUCT.md §11): `error` counts as failed for the pass rate and
`--strict`; `xfailed` counts as skipped and `xpassed` as passed, as in pytest's own exit status.
Pass rate = passed / (total - skipped); None when nothing ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# pytest names module-level (collection) reports after the module alone; we give them this test name.
COLLECTION = "<collection>"

_COUNTING = {"passed": "passed", "xpassed": "passed", "failed": "failed", "error": "error"}
_COUNTING |= {"skipped": "skipped", "xfailed": "skipped"}
OUTCOMES = tuple(_COUNTING)


class E2EInputError(Exception):
    """The input is missing, malformed or of an unknown shape."""


@dataclass(frozen=True)
class CaseResult:
    id: str
    module: str
    name: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    duration: float  # seconds, setup + call + teardown
    message: str = ""

    @property
    def counted_as(self) -> str:
        return _COUNTING[self.outcome]


@dataclass(frozen=True)
class Tally:
    """Counts and time of a group of results: the whole run or one module."""

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    duration: float

    @classmethod
    def of(cls, results: Sequence[CaseResult]) -> Tally:
        counted = [result.counted_as for result in results]
        return cls(
            total=len(results),
            passed=counted.count("passed"),
            failed=counted.count("failed"),
            errors=counted.count("error"),
            skipped=counted.count("skipped"),
            duration=sum(result.duration for result in results),
        )

    @property
    def executed(self) -> int:
        return self.total - self.skipped

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.executed if self.executed else None

    @property
    def status(self) -> str:
        """passed | failed | nothing_ran (every test skipped: proves nothing, so never green)."""
        if self.failed or self.errors:
            return "failed"
        return "passed" if self.executed else "nothing_ran"


@dataclass(frozen=True)
class E2ESummary:
    source: str
    input_format: str
    totals: Tally
    failures: tuple[CaseResult, ...]  # failed and errored, in run order
    slowest: tuple[CaseResult, ...]
    modules: dict[str, Tally]  # sorted by module name
    results: tuple[CaseResult, ...]


# ---- summarising ---------------------------------------------------------------------------------------------


def summarize(results: Iterable[CaseResult], *, source: str, input_format: str, slowest: int = 5) -> E2ESummary:
    """Totals, failures, the `slowest` longest tests and one row per module."""
    results = tuple(results)
    by_module: dict[str, list[CaseResult]] = {}
    for result in results:
        by_module.setdefault(result.module, []).append(result)
    timed = [result for result in results if result.duration > 0]
    return E2ESummary(
        source=source,
        input_format=input_format,
        totals=Tally.of(results),
        failures=tuple(result for result in results if result.counted_as in ("failed", "error")),
        # Zero-time entries (collection errors, skips) are not "slow"; ties go by id so both formats agree.
        slowest=tuple(sorted(timed, key=lambda result: (-result.duration, result.id))[:slowest]),
        modules={module: Tally.of(cases) for module, cases in sorted(by_module.items())},
        results=results,
    )


# ---- rendering -----------------------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f} %"


def _first_line(message: str, limit: int = 160) -> str:
    lines = message.strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) > limit or len(lines) > 1:
        return line[: limit - 1].rstrip() + "…"
    return line


def _totals_line(totals: Tally) -> str:
    return (
        f"{totals.total} test{'' if totals.total == 1 else 's'}: {totals.passed} passed, {totals.failed} failed, "
        f"{totals.errors} errors, "
        f"{totals.skipped} skipped; pass rate {_percent(totals.pass_rate)} (passed / (total - skipped)); "
        f"{totals.duration:.3f} s"
    )


def _result_line(totals: Tally) -> str:
    return f"Result: {totals.status.upper().replace('_', ' ')}"


def _module_rows(summary: E2ESummary) -> list[list[str]]:
    return [
        [module, *map(str, (row.total, row.passed, row.failed, row.errors, row.skipped)), f"{row.duration:.3f}"]
        for module, row in summary.modules.items()
    ]


_MODULE_HEADERS = ["module", "total", "passed", "failed", "errors", "skipped", "duration (s)"]
_FIRST, _ALL_BUT_FIRST = frozenset({0}), frozenset(range(1, len(_MODULE_HEADERS)))


def render_text(summary: E2ESummary) -> str:
    """Plain text with aligned columns, for terminals and CI logs."""
    lines = [
        f"E2E report: {summary.source} ({summary.input_format})",
        _result_line(summary.totals),
        _totals_line(summary.totals),
    ]
    if summary.failures:
        lines += ["", f"Failures ({len(summary.failures)}):"]
        rows = [[r.outcome.upper(), r.id, _first_line(r.message)] for r in summary.failures]
        lines += _text_table(["outcome", "test", "message"], rows)
    if summary.slowest:
        lines += ["", f"Slowest {len(summary.slowest)}:"]
        lines += _text_table(["duration (s)", "test"], [[f"{r.duration:.3f}", r.id] for r in summary.slowest], _FIRST)
    lines += ["", "Modules:", *_text_table(_MODULE_HEADERS, _module_rows(summary), _ALL_BUT_FIRST)]
    return "\n".join(lines) + "\n"


def _text_table(headers: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Columns padded to their widest cell; the `right` ones (numbers) right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return ("  " + "  ".join(padded)).rstrip()

    return [line(headers), *(line(row) for row in rows)]


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")


def markdown_escape(text: str) -> str:
    """Safe inside a GitHub table cell: no HTML, no emphasis, `|` escaped, newlines as <br>."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return "<br>".join(text.splitlines())


# GitHub drops a step summary over 1 MiB, and a broken run can fail thousands of tests: list the first ones only.
MARKDOWN_FAILURES = 50


def render_markdown(summary: E2ESummary) -> str:
    """GitHub-flavoured Markdown, e.g. for $GITHUB_STEP_SUMMARY."""
    lines = [
        f"## E2E report: {markdown_escape(summary.source)}",
        "",
        f"**{_result_line(summary.totals)}** ({markdown_escape(summary.input_format)}). "
        + markdown_escape(_totals_line(summary.totals)),
    ]
    if summary.failures:
        shown = summary.failures[:MARKDOWN_FAILURES]
        lines += [
            "",
            f"### Failures ({len(summary.failures)})",
            "",
            "| Test | Outcome | Message |",
            "| --- | --- | --- |",
        ]
        for r in shown:
            lines.append(f"| {markdown_escape(r.id)} | {r.outcome} | {markdown_escape(_trim(r.message, 500))} |")
        if len(summary.failures) > len(shown):
            lines += ["", f"…and {len(summary.failures) - len(shown)} more (`--format json` lists every failure)."]
    if summary.slowest:
        lines += ["", f"### Slowest {len(summary.slowest)}", "", "| Test | Duration (s) |", "| --- | ---: |"]
        lines += [f"| {markdown_escape(r.id)} | {r.duration:.3f} |" for r in summary.slowest]
    lines += ["", "### Modules", "", "| " + " | ".join(h.capitalize() for h in _MODULE_HEADERS) + " |"]
    lines.append("| --- |" + " ---: |" * (len(_MODULE_HEADERS) - 1))
    lines += ["| " + " | ".join([markdown_escape(row[0]), *row[1:]]) + " |" for row in _module_rows(summary)]
    return "\n".join(lines) + "\n"


def _trim(message: str, limit: int) -> str:
    message = message.strip()
    return message if len(message) <= limit else message[: limit - 1].rstrip() + "…"


def summary_as_dict(summary: E2ESummary) -> dict[str, Any]:
    """The --format json document (durations in seconds, pass_rate a fraction or null)."""

    def case(result: CaseResult) -> dict[str, Any]:
        return asdict(result) | {"duration": round(result.duration, 6)}

    totals = summary.totals
    return {
        "source": summary.source,
        "input_format": summary.input_format,
        "status": totals.status,
        "totals": {key: getattr(totals, key) for key in ("total", "passed", "failed", "errors", "skipped")},
        "pass_rate": None if totals.pass_rate is None else round(totals.pass_rate, 6),
        "pass_rate_definition": "passed / (total - skipped)",
        "duration": round(totals.duration, 6),
        "failures": [case(result) for result in summary.failures],
        "slowest": [case(result) for result in summary.slowest],
        "modules": [
            {"module": module, **asdict(row), "duration": round(row.duration, 6)}
            for module, row in summary.modules.items()
        ],
        "tests": [case(result) for result in summary.results],
    }
