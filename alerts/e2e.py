"""End-to-end test reports: read pytest-json-report JSON, JUnit XML or AOS harness JSON into one small model,
summarise it (totals, pass rate, failures, slowest tests, per-module table) and render text, Markdown or JSON.

Pure: no database, no Django. Counting rules (PRODUCT.md §11): `error` counts as failed for the pass rate and
`--strict`; `xfailed` counts as skipped and `xpassed` as passed, as in pytest's own exit status.
Pass rate = passed / (total - skipped); None when nothing ran.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import jsonschema
from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped

INPUT_FORMATS = ("pytest-json", "junit", "harness")
HARNESS_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "aos_harness.schema.json"
# pytest names module-level (collection) reports after the module alone; we give them this test name.
COLLECTION = "<collection>"

_COUNTING = {"passed": "passed", "xpassed": "passed", "failed": "failed", "error": "error"}
_COUNTING |= {"skipped": "skipped", "xfailed": "skipped"}


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
class ModuleRow:
    module: str
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    duration: float


@dataclass(frozen=True)
class E2ESummary:
    source: str
    input_format: str
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    duration: float
    failures: tuple[CaseResult, ...]  # failed and errored, in run order
    slowest: tuple[CaseResult, ...]
    modules: tuple[ModuleRow, ...]  # sorted by module name
    results: tuple[CaseResult, ...]

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


# ---- reading -------------------------------------------------------------------------------------------------


def read_results(path: Path, *, input_format: str | None = None) -> tuple[str, list[CaseResult]]:
    """Read FILE, auto-detecting its format unless given; returns (format, results)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise E2EInputError(f"cannot read {path}: {exc.strerror or exc}")
    if not raw.strip():
        raise E2EInputError(f"{path} is empty")
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise E2EInputError(f"unknown input format {input_format!r} (expected one of {', '.join(INPUT_FORMATS)})")
    if input_format == "junit" or (input_format is None and raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")):
        return "junit", parse_junit(raw)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise E2EInputError(f"{'not valid JSON' if input_format else 'neither XML nor valid JSON'}: {exc}")
    input_format = input_format or detect_json_format(data)
    return input_format, parse_harness(data) if input_format == "harness" else parse_pytest_json(data)


def detect_json_format(data: Any) -> str:
    """Tell pytest-json-report from AOS harness JSON by their keys."""
    if isinstance(data, dict):
        if data.get("harness") == "aos-e2e":
            return "harness"
        if "summary" in data and ("created" in data or "root" in data):
            if "tests" not in data:
                raise E2EInputError(
                    "pytest-json-report file has no per-test results (written with --json-report-summary?)"
                )
            return "pytest-json"
    raise E2EInputError(
        "unknown JSON shape: expected pytest-json-report (tests, summary, created) "
        'or AOS harness JSON ("harness": "aos-e2e")'
    )


def _module_of_path(path: str) -> str:
    # The same mangling pytest's junitxml applies, so both pytest formats name modules alike.
    return re.sub(r"\.py$", "", path.replace("/", "."))


def _collection_message(longrepr: str) -> str:
    """`collection failure: <the last E line>`, matching what JUnit shows for the same error."""
    e_lines = [line[1:].strip() for line in longrepr.splitlines() if line.startswith("E ")]
    return f"collection failure: {e_lines[-1]}" if e_lines else "collection failure"


def parse_pytest_json(data: Any) -> list[CaseResult]:
    """Results from pytest-json-report (1.5): tests[] plus failed or skipped collectors (import errors)."""
    if not isinstance(data, dict):
        raise E2EInputError("pytest-json-report: expected a JSON object")
    tests, collectors = data.get("tests"), data.get("collectors") or []
    if not isinstance(tests, list) or not isinstance(collectors, list):
        raise E2EInputError("pytest-json-report: tests and collectors must be lists")
    results = _collection_results(collectors)
    for index, test in enumerate(tests):
        if (
            not isinstance(test, dict)
            or not isinstance(test.get("nodeid"), str)
            or test.get("outcome") not in _COUNTING
        ):
            raise E2EInputError(f"pytest-json-report: tests[{index}] needs a nodeid and a known outcome")
        nodeid, outcome = test["nodeid"], test["outcome"]
        base, bracket, params = nodeid.partition("[")
        path, _, name = base.partition("::")
        module = _module_of_path(path)
        name = (name or path) + bracket + params
        stages = [test[when] for when in ("setup", "call", "teardown") if isinstance(test.get(when), dict)]
        try:
            duration = sum(float(stage.get("duration") or 0.0) for stage in stages)
        except (TypeError, ValueError):
            raise E2EInputError(f"pytest-json-report: tests[{index}] has a non-numeric duration")
        results.append(CaseResult(f"{module}::{name}", module, name, outcome, duration, _json_message(test, outcome)))
    return results


def _collection_results(collectors: list[Any]) -> list[CaseResult]:
    """Collectors that failed (import errors) or were skipped at module level, as pytest's junitxml reports them."""
    results = []
    for index, collector in enumerate(collectors):
        if not isinstance(collector, dict) or collector.get("outcome") not in ("passed", "failed", "skipped"):
            raise E2EInputError(f"pytest-json-report: collectors[{index}] has no valid outcome")
        if collector["outcome"] == "passed":
            continue
        module = _module_of_path(str(collector.get("nodeid", "")).split("::")[0]) or "<session>"
        longrepr = str(collector.get("longrepr") or "")
        if collector["outcome"] == "failed":
            outcome, message = "error", _collection_message(longrepr)
        else:
            outcome, message = "skipped", _skip_reason(longrepr)
        results.append(CaseResult(f"{module}::{COLLECTION}", module, COLLECTION, outcome, 0.0, message))
    return results


def _json_message(test: dict[str, Any], outcome: str) -> str:
    for when in ("setup", "call", "teardown"):
        stage = test.get(when)
        if not isinstance(stage, dict) or stage.get("outcome") == "passed":
            continue
        crash = stage["crash"] if isinstance(stage.get("crash"), dict) else {}
        reason = str(crash.get("message") or stage.get("longrepr") or "")
        if stage.get("outcome") == "skipped" and outcome == "skipped":
            return _skip_reason(str(stage.get("longrepr") or ""))
        if outcome == "error" and when != "call":
            # pytest's junitxml wording, so both formats carry the same message.
            return f'failed on {when} with "{reason}"'
        return reason
    return ""


def _skip_reason(longrepr: str) -> str:
    """pytest-json-report stores a skip as the repr of (path, line, 'Skipped: reason')."""
    try:
        value = ast.literal_eval(longrepr)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = longrepr
    reason = str(value[-1]) if isinstance(value, tuple) and value else str(value)
    return reason.removeprefix("Skipped: ")


def parse_junit(raw: bytes) -> list[CaseResult]:
    """Results from JUnit XML (<testsuites> or a bare <testsuite>, nested suites included)."""
    try:
        xml = JUnitXml.fromstring(raw)
        cases = [case for suite in xml for case in suite]
    except ParseError as exc:
        raise E2EInputError(f"not valid XML: {exc}")
    except JUnitXmlError:
        raise E2EInputError("XML is not JUnit: the root element must be <testsuites> or <testsuite>")
    results = []
    for index, case in enumerate(cases):
        try:
            duration = case.time or 0.0
        except ValueError:
            raise E2EInputError(f"JUnit testcase {index} has a non-numeric time")
        if not case.name:
            raise E2EInputError(f"JUnit testcase {index} has no name")
        outcome, message = _junit_outcome(case.result)
        module, name = _junit_module(case.classname or "", case.name)
        if name == COLLECTION and message == "collection failure":
            message = _collection_message(_junit_text(case.result))
        elif name == COLLECTION and message == "collection skipped":
            message = _skip_reason(_junit_text(case.result).strip())
        results.append(CaseResult(f"{module}::{name}", module, name, outcome, duration, message))
    return results


def _junit_module(classname: str, name: str) -> tuple[str, str]:
    """pytest writes classname = module[.Class...]; classes are told apart by their capital letter."""
    if not classname:
        return name, COLLECTION  # pytest reports module-level collection errors and skips this way
    parts = classname.split(".")
    classes: list[str] = []
    while len(parts) > 1 and parts[-1][:1].isupper():
        classes.insert(0, parts.pop())
    return ".".join(parts), "::".join([*classes, name])


def _junit_outcome(results: Sequence[Any]) -> tuple[str, str]:
    for kind, outcome in ((Error, "error"), (Failure, "failed"), (Skipped, "skipped")):
        for result in results:
            if isinstance(result, kind):
                if outcome == "skipped" and result.type == "pytest.xfail":
                    outcome = "xfailed"
                return outcome, result.message or (result.text or "").strip()
    return "passed", ""


def _junit_text(results: Sequence[Any]) -> str:
    return "\n".join(result.text or "" for result in results)


@cache
def _harness_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(HARNESS_SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def parse_harness(data: Any) -> list[CaseResult]:
    """Results from AOS harness JSON, validated against schemas/aos_harness.schema.json."""
    error = jsonschema.exceptions.best_match(_harness_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise E2EInputError(f"harness JSON fails {HARNESS_SCHEMA_PATH.name} at {where}: {error.message}")
    return [
        CaseResult(
            id=test["id"],
            module=test["module"],
            name=test.get("name") or test["id"],
            outcome=test["status"],
            duration=test["duration_ms"] / 1000,
            message=test.get("message") or "",
        )
        for test in data["tests"]
    ]


# ---- summarising ---------------------------------------------------------------------------------------------


def summarize(results: Iterable[CaseResult], *, source: str, input_format: str, slowest: int = 5) -> E2ESummary:
    """Totals, failures, the `slowest` longest tests and one row per module."""
    results = tuple(results)
    counts = _count(results)
    timed = [result for result in results if result.duration > 0]
    by_module: dict[str, list[CaseResult]] = {}
    for result in results:
        by_module.setdefault(result.module, []).append(result)
    modules = tuple(
        ModuleRow(module=module, total=len(cases), **_count(cases), duration=sum(case.duration for case in cases))
        for module, cases in sorted(by_module.items())
    )
    return E2ESummary(
        source=source,
        input_format=input_format,
        total=len(results),
        **counts,
        duration=sum(result.duration for result in results),
        failures=tuple(result for result in results if result.counted_as in ("failed", "error")),
        # Zero-time entries (collection errors, skips) are not "slow"; ties go by id so both formats agree.
        slowest=tuple(sorted(timed, key=lambda result: (-result.duration, result.id))[:slowest]),
        modules=modules,
        results=results,
    )


def _count(results: Iterable[CaseResult]) -> dict[str, int]:
    counted = [result.counted_as for result in results]
    return {key: counted.count(outcome) for key, outcome in _COUNT_KEYS}


_COUNT_KEYS = (("passed", "passed"), ("failed", "failed"), ("errors", "error"), ("skipped", "skipped"))


# ---- rendering -----------------------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f} %"


def _first_line(message: str, limit: int = 160) -> str:
    lines = message.strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) > limit or len(lines) > 1:
        return line[: limit - 1].rstrip() + "…"
    return line


def _totals_line(summary: E2ESummary) -> str:
    return (
        f"{summary.total} test{'' if summary.total == 1 else 's'}: {summary.passed} passed, {summary.failed} failed, "
        f"{summary.errors} errors, "
        f"{summary.skipped} skipped; pass rate {_percent(summary.pass_rate)} (passed / (total - skipped)); "
        f"{summary.duration:.3f} s"
    )


def _module_rows(summary: E2ESummary) -> list[list[str]]:
    return [
        [row.module, *map(str, (row.total, row.passed, row.failed, row.errors, row.skipped)), f"{row.duration:.3f}"]
        for row in summary.modules
    ]


_MODULE_HEADERS = ["module", "total", "passed", "failed", "errors", "skipped", "duration (s)"]
_FIRST, _ALL_BUT_FIRST = frozenset({0}), frozenset(range(1, len(_MODULE_HEADERS)))


def render_text(summary: E2ESummary) -> str:
    """Plain text with aligned columns, for terminals and CI logs."""
    lines = [
        f"E2E report: {summary.source} ({summary.input_format})",
        f"Result: {summary.status.upper().replace('_', ' ')}",
        _totals_line(summary),
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


def render_markdown(summary: E2ESummary) -> str:
    """GitHub-flavoured Markdown, e.g. for $GITHUB_STEP_SUMMARY."""
    lines = [
        f"## E2E report: {markdown_escape(summary.source)}",
        "",
        f"**Result: {summary.status.upper().replace('_', ' ')}** ({markdown_escape(summary.input_format)}). "
        + markdown_escape(_totals_line(summary)),
    ]
    if summary.failures:
        lines += ["", "### Failures", "", "| Test | Outcome | Message |", "| --- | --- | --- |"]
        for r in summary.failures:
            lines.append(f"| {markdown_escape(r.id)} | {r.outcome} | {markdown_escape(_trim(r.message, 500))} |")
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

    return {
        "source": summary.source,
        "input_format": summary.input_format,
        "status": summary.status,
        "totals": {key: getattr(summary, key) for key in ("total", "passed", "failed", "errors", "skipped")},
        "pass_rate": None if summary.pass_rate is None else round(summary.pass_rate, 6),
        "pass_rate_definition": "passed / (total - skipped)",
        "duration": round(summary.duration, 6),
        "failures": [case(result) for result in summary.failures],
        "slowest": [case(result) for result in summary.slowest],
        "modules": [asdict(row) | {"duration": round(row.duration, 6)} for row in summary.modules],
        "tests": [case(result) for result in summary.results],
    }
