"""Readers for `manage.py e2e_report`: pytest-json-report JSON, JUnit XML (via junitparser) and AOS harness JSON
(validated against schemas/aos_harness.schema.json), each turned into `alerts.e2e.CaseResult`s.

Pure: no database, no Django. Every malformed input becomes one `E2EInputError` with a one-line reason.
"""

from __future__ import annotations

import ast
import codecs
import json
import math
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser

import jsonschema
from junitparser import Error, Failure, Skipped, TestCase

from alerts.e2e import COLLECTION, OUTCOMES, CaseResult, E2EInputError

INPUT_FORMATS = ("pytest-json", "junit", "harness")
HARNESS_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "aos_harness.schema.json"


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
    if input_format == "junit" or (input_format is None and _looks_like_xml(raw)):
        return "junit", parse_junit(raw)
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise E2EInputError(f"{'not valid JSON' if input_format else 'neither XML nor valid JSON'}: {exc}")
    input_format = input_format or detect_json_format(data)
    return input_format, parse_harness(data) if input_format == "harness" else parse_pytest_json(data)


def _looks_like_xml(raw: bytes) -> bool:
    head = raw[:256]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # some .NET and Windows tools write UTF-16
        head = head.decode("utf-16", errors="ignore").encode()
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and would slip past `minimum` in the schema.
    raise ValueError(f"{name} is not a JSON number")


def _seconds(value: Any) -> float:
    """A duration: a finite number of seconds >= 0 (ValueError or TypeError otherwise)."""
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(value)
    return seconds


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
        if not isinstance(test, dict) or not isinstance(test.get("nodeid"), str) or test.get("outcome") not in OUTCOMES:
            raise E2EInputError(f"pytest-json-report: tests[{index}] needs a nodeid and a known outcome")
        nodeid, outcome = test["nodeid"], test["outcome"]
        base, bracket, params = nodeid.partition("[")
        path, _, name = base.partition("::")
        module = _module_of_path(path)
        name = (name or path) + bracket + params
        stages = [test[when] for when in ("setup", "call", "teardown") if isinstance(test.get(when), dict)]
        try:
            duration = sum(_seconds(stage.get("duration") or 0.0) for stage in stages)
        except (TypeError, ValueError):
            raise E2EInputError(f"pytest-json-report: tests[{index}] has a duration that is not a number >= 0")
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


class _NoDoctypeBuilder(TreeBuilder):
    """JUnit XML never needs a DTD. Refusing one before its entities are declared rules out entity expansion
    (billion laughs) and external entities whatever the expat version, and we parse with the standard library
    ourselves so junitparser's own choice of backend (lxml when installed, which resolves entities) never applies."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise E2EInputError("XML with a <!DOCTYPE> is refused: JUnit XML needs none (entity expansion guard)")


def parse_junit(raw: bytes) -> list[CaseResult]:
    """Results from JUnit XML: <testsuites> or a bare <testsuite> at the root, suites nested to any depth."""
    parser = XMLParser(target=_NoDoctypeBuilder())  # noqa: S314 - no DTD, so none of defusedxml's attacks apply
    try:
        parser.feed(raw)
        root = parser.close()
    except ParseError as exc:
        raise E2EInputError(f"not valid XML: {exc}")
    if root.tag not in _JUNIT_SUITES:
        raise E2EInputError(f"XML is not JUnit: the root element is <{root.tag}>, not <testsuites> or <testsuite>")
    results = []
    for index, (suite, element) in enumerate(_junit_testcases(root)):
        case = TestCase.fromelem(element)
        try:
            duration = _seconds(case.time or 0.0)
        except ValueError:
            raise E2EInputError(f"JUnit testcase {index} has a time that is not a number of seconds >= 0")
        if not case.name:
            raise E2EInputError(f"JUnit testcase {index} has no name")
        outcome, message = _junit_outcome(case.result)
        classname = case.classname or ""
        if not classname and message in ("collection failure", "collection skipped"):
            # pytest's shape for a module that failed to import or was skipped whole: name = the module.
            module, name = case.name, COLLECTION
            text = _junit_text(case.result)
            message = _collection_message(text) if outcome == "error" else _skip_reason(text.strip())
        else:
            module, name = _junit_module(classname, case.name, file=element.get("file") or "", suite=suite)
        results.append(CaseResult(f"{module}::{name}", module, name, outcome, duration, message))
    return results


_JUNIT_SUITES = ("testsuites", "testsuite")
# A dotted identifier (pytest module[.Class], Java package.Class$Inner), not free text such as Jest's titles.
_DOTTED_CLASSNAME = re.compile(r"[\w$]+(\.[\w$]+)*")


def _junit_testcases(root: Element) -> Iterator[tuple[str, Element]]:
    """(name of the innermost enclosing suite, <testcase>) in document order; iterative, so depth is no limit."""
    stack = [(root.get("name") or "", iter(root))]
    while stack:
        suite, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif child.tag == "testcase":
            yield suite, child
        elif child.tag in _JUNIT_SUITES:
            stack.append((child.get("name") or suite, iter(child)))


def _junit_module(classname: str, name: str, *, file: str, suite: str) -> tuple[str, str]:
    """(module, test name) of a testcase.

    A dotted classname (pytest `module[.Class...]`, Java `package.Class`) loses its trailing capitalised parts
    (the classes) to the test name. Any other producer's testcase (no classname, or free text) is grouped by its
    `file` attribute, else its enclosing <testsuite>'s name."""
    if _DOTTED_CLASSNAME.fullmatch(classname):
        parts = classname.split(".")
        classes: list[str] = []
        while len(parts) > 1 and parts[-1][:1].isupper():
            classes.insert(0, parts.pop())
        return ".".join(parts), "::".join([*classes, name])
    return file or suite or classname or "<unknown>", name


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
