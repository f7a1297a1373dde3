"""manage.py e2e_report on reports of a real pytest run (pytest-json-report and JUnit XML of the same run),
on AOS harness JSON fixtures, and on broken input."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from alerts.e2e import MARKDOWN_FAILURES, markdown_escape, summarize
from alerts.e2e_inputs import read_results

SAMPLE_DIR = Path(__file__).parent / "e2e_sample"
FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"

SAMPLE_TOTALS = {"total": 11, "passed": 4, "failed": 2, "errors": 2, "skipped": 3}
SAMPLE_FAILURES = [
    ("sample_checkout::test_it_totals_the_basket", "failed", "AssertionError: basket total | wrong\nassert 3 == 4"),
    (
        "sample_checkout::test_it_charges_the_card",
        "error",
        'failed on setup with "RuntimeError: payment gateway unreachable"',
    ),
    ("sample_billing::test_it_closes_the_ledger", "error", 'failed on teardown with "OSError: ledger not flushed"'),
    ("sample_billing::test_it_rounds_cents", "failed", "ValueError: cannot round 0.005\nsecond line"),
]
# (module, total, passed, failed, errors, skipped)
SAMPLE_MODULES = [("sample_billing", 4, 1, 1, 1, 1), ("sample_checkout", 7, 3, 1, 1, 2)]


def run_sample_suite(out_dir, *sample_files, select=None):
    """Really run pytest on the sample files, writing both a pytest-json-report and a JUnit XML file."""
    ini = out_dir / "pytest.ini"
    ini.write_text("[pytest]\n")  # keeps the project's pyproject (Django settings, addopts) out of the run
    json_path, xml_path = out_dir / "report.json", out_dir / "report.xml"
    command = [sys.executable, "-m", "pytest", *(str(SAMPLE_DIR / name) for name in sample_files)]
    command += ["-c", str(ini), f"--rootdir={SAMPLE_DIR}", f"--confcutdir={SAMPLE_DIR}", "-q"]
    command += ["-p", "no:cacheprovider", "-p", "no:django", "-p", "no:locust"]
    command += ["--json-report", f"--json-report-file={json_path}", f"--junitxml={xml_path}"]
    if select:
        command += ["-k", select]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    completed = subprocess.run(command, cwd=out_dir, env=env, capture_output=True, text=True, timeout=120)
    assert json_path.exists() and xml_path.exists(), completed.stdout + completed.stderr
    return {"json": json_path, "xml": xml_path, "returncode": completed.returncode}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    return run_sample_suite(tmp_path_factory.mktemp("e2e_sample_run"), "sample_checkout.py", "sample_billing.py")


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory):
    return run_sample_suite(
        tmp_path_factory.mktemp("e2e_passing_run"),
        "sample_checkout.py",
        "sample_billing.py",
        select="adds_to_cart or issues_an_invoice",
    )


def report(*args, **options):
    out = StringIO()
    call_command("e2e_report", *map(str, args), stdout=out, **options)
    return out.getvalue()


def report_json(*args):
    return json.loads(report(*args, "--format", "json"))


def report_error(*args):
    with pytest.raises(CommandError) as caught:
        report(*args)
    return caught.value


def manage_py(*args, env=None):
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), "e2e_report", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_it_runs_the_sample_suite_for_real(sample_run):
    assert sample_run["returncode"] == 1  # pytest itself saw failures


@pytest.mark.parametrize(("kind", "input_format"), [("json", "pytest-json"), ("xml", "junit")])
def test_it_summarises_a_real_pytest_run(sample_run, kind, input_format):
    data = report_json(sample_run[kind])

    assert data["input_format"] == input_format
    assert data["status"] == "failed"
    assert data["totals"] == SAMPLE_TOTALS
    assert data["pass_rate"] == 0.5  # 4 passed / (11 - 3 skipped)
    assert [(f["id"], f["outcome"], f["message"]) for f in data["failures"]] == SAMPLE_FAILURES
    assert [s["id"] for s in data["slowest"][:2]] == [
        "sample_checkout::test_it_waits_for_confirmation",
        "sample_checkout::TestRefunds::test_it_refunds_in_full",
    ]
    rows = [(m["module"], m["total"], m["passed"], m["failed"], m["errors"], m["skipped"]) for m in data["modules"]]
    assert rows == SAMPLE_MODULES
    checkout = next(m for m in data["modules"] if m["module"] == "sample_checkout")
    assert checkout["duration"] >= 0.4  # the 0.3 s and 0.1 s sleeps
    outcomes = {test["id"]: test["outcome"] for test in data["tests"]}
    assert outcomes["sample_checkout::TestRefunds::test_it_refunds_in_part"] == "xfailed"
    assert outcomes["sample_checkout::test_it_applies_a_coupon"] == "skipped"


def test_it_reads_both_formats_of_one_run_alike(sample_run):
    from_json = summarize(read_results(sample_run["json"])[1], source="run", input_format="-")
    from_xml = summarize(read_results(sample_run["xml"])[1], source="run", input_format="-")

    assert [(r.id, r.module, r.name, r.outcome) for r in from_json.results] == [
        (r.id, r.module, r.name, r.outcome) for r in from_xml.results
    ]
    for json_result, xml_result in zip(from_json.results, from_xml.results, strict=True):
        # JUnit writes times with 3 decimals.
        assert json_result.duration == pytest.approx(xml_result.duration, abs=0.0015)
        if json_result.outcome != "xfailed":  # JUnit keeps the xfail reason, pytest-json-report the exception
            assert json_result.message == xml_result.message
    skipped = {r.id: r.message for r in from_json.results if r.outcome == "skipped"}
    assert skipped == {
        "sample_checkout::test_it_applies_a_coupon": "coupons not launched",
        "sample_billing::test_it_skips_at_runtime": "no tax table for XX",
    }


def test_it_counts_collection_errors_that_pytest_json_report_leaves_out_of_its_totals(tmp_path):
    run = run_sample_suite(tmp_path, "sample_broken.py", "sample_later.py")
    assert json.loads(run["json"].read_text())["summary"]["total"] == 0  # what a naive reader would trust

    for kind in ("json", "xml"):
        data = report_json(run[kind])
        assert data["totals"] == {"total": 2, "passed": 0, "failed": 0, "errors": 1, "skipped": 1}
        assert [(t["id"], t["outcome"], t["message"]) for t in data["tests"]] == [
            ("sample_broken::<collection>", "error", "collection failure: RuntimeError: checkout settings missing"),
            ("sample_later::<collection>", "skipped", "invoicing v2 not released"),
        ]
        with pytest.raises(CommandError) as caught:
            report(run[kind], "--strict")
        assert caught.value.returncode == 1


def test_it_reads_the_aos_harness_fixture():
    data = report_json(FIXTURES / "harness_valid.json")

    assert data["input_format"] == "harness"
    assert data["totals"] == {"total": 6, "passed": 3, "failed": 1, "errors": 1, "skipped": 1}
    assert data["pass_rate"] == 0.6
    assert [(f["id"], f["module"], f["outcome"], f["message"]) for f in data["failures"]] == [
        ("runtime/rate_limit", "runtime", "failed", "expected 429 | got 200\nRetry-After header missing"),
        ("traces/replay_roundtrip", "traces", "error", "connection refused: 127.0.0.1:8000"),
    ]
    assert [(s["id"], s["duration"]) for s in data["slowest"][:3]] == [
        ("traces/replay_roundtrip", 3.0),
        ("runtime/simulate_parity", 1.234),
        ("accounts/oidc_login", 0.8),
    ]
    assert [(m["module"], m["total"], m["passed"], m["duration"]) for m in data["modules"]] == [
        ("accounts", 2, 2, 0.92),
        ("runtime", 2, 1, 1.4845),
        ("traces", 2, 0, 3.0),
    ]
    assert data["tests"][0]["name"] == "simulate matches execute"
    assert data["tests"][1]["name"] == "runtime/rate_limit"  # name defaults to the id


def test_it_rejects_harness_json_failing_the_schema():
    error = report_error(FIXTURES / "harness_bad_status.json")

    assert error.returncode == 2
    assert "aos_harness.schema.json" in str(error)
    assert "tests/1/status" in str(error) and "'flaky'" in str(error)


def test_it_exits_2_on_malformed_xml_without_a_traceback(sample_run, tmp_path):
    xml = sample_run["xml"].read_text()
    broken = tmp_path / "broken.xml"
    broken.write_text(xml[: len(xml) // 2])

    completed = manage_py(broken, "--skip-checks")

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("CommandError: e2e_report: not valid XML: ")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"results": []}', "unknown JSON shape"),
        ("[1, 2, 3]", "unknown JSON shape"),
        ('{"created": 1, "root": "/x", "summary": {"total": 0}}', "--json-report-summary"),
        ('{"harness": "aos-e2e", "version": 2, "run": {}, "tests": []}', "aos_harness.schema.json"),
        ("<html><body>nope</body></html>", "the root element is <html>, not <testsuites> or <testsuite>"),
        ("<testsuites><testsuite>", "not valid XML"),
        ("{not json", "neither XML nor valid JSON"),
        ("", "is empty"),
        ('{"created": 1, "root": "/x", "summary": {}, "tests": [{"nodeid": "a.py::t"}]}', "tests[0]"),
        ('{"created": 1, "root": "/x", "summary": {}, "tests": [{"nodeid": "a.py::t", "outcome": []}]}', "tests[0]"),
        (
            '{"created": 1, "root": "/x", "summary": {}, "tests": '
            '[{"nodeid": "a.py::t", "outcome": "passed", "call": {"duration": -2}}]}',
            "tests[0] has a duration that is not a number >= 0",
        ),
        ('<testsuite><testcase name="t" time="NaN"/></testsuite>', "testcase 0 has a time that is not a number"),
        ('<testsuite><testcase name="t" time="-1.5"/></testsuite>', "testcase 0 has a time that is not a number"),
        ('<testsuite><testcase name="t" time="soon"/></testsuite>', "testcase 0 has a time that is not a number"),
        (
            '{"harness": "aos-e2e", "version": 1, "run": {"started_at": "2026-11-30T05:00:00Z", "base_url": "http://x"},'
            ' "tests": [{"id": "a", "module": "m", "status": "passed", "duration_ms": NaN}]}',
            "NaN is not a JSON number",
        ),
    ],
)
def test_it_exits_2_on_input_it_cannot_read(tmp_path, content, expected):
    path = tmp_path / "input"
    path.write_text(content)

    error = report_error(path)

    assert error.returncode == 2
    assert expected in str(error)


@pytest.mark.parametrize(
    "dtd",
    [
        # Billion laughs: 10^9 "lol"s if expanded.
        '<!DOCTYPE t [<!ENTITY a "lol">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]>",
        '<!DOCTYPE t [<!ENTITY secret SYSTEM "file://{secret}">]>',
        '<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/junit.dtd">',
    ],
)
def test_it_refuses_a_doctype_so_no_entity_is_ever_expanded(tmp_path, dtd):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path = tmp_path / "evil.xml"
    entity = "&j;" if "lol" in dtd else "&secret;" if "secret" in dtd else ""
    path.write_text(
        f'<?xml version="1.0"?>{dtd.replace("{secret}", str(secret))}'
        f'<testsuite name="s"><testcase classname="m" name="t"><failure message="{entity}"/></testcase></testsuite>'
    )

    error = report_error(path)

    assert error.returncode == 2
    assert "<!DOCTYPE> is refused" in str(error)
    assert "TOP-SECRET-VALUE" not in str(error)


OTHER_PRODUCERS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all">
  <testsuite name="api-smoke">
    <testcase name="health answers 200" time="0.25"/>
    <testcase name="login rejects a bad password" time="0.5"><failure message="got 200">body</failure></testcase>
  </testsuite>
  <testsuite name="Login form">
    <testcase classname="Login form renders the button" name="renders the button" file="src/login.test.js"
              time="0.125"/>
  </testsuite>
  <testsuite name="com.example.auth.LoginTest">
    <testcase classname="com.example.auth.LoginTest" name="testLogin" time="1.0"/>
    <testcase classname="com.example.auth.LoginTest$Inner" name="testNested" time="0"><skipped/></testcase>
  </testsuite>
  <testsuites name="shards">
    <testsuite name="shard-1">
      <testsuite name="nested-suite"><testcase name="deep check" time="2"><error message="boom"/></testcase></testsuite>
    </testsuite>
  </testsuites>
</testsuites>
"""


def test_it_groups_junit_from_other_producers_by_file_package_or_suite(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text(OTHER_PRODUCERS_XML)

    data = report_json(path)

    assert [(t["module"], t["name"], t["outcome"]) for t in data["tests"]] == [
        ("api-smoke", "health answers 200", "passed"),  # no classname: the enclosing suite
        ("api-smoke", "login rejects a bad password", "failed"),
        ("src/login.test.js", "renders the button", "passed"),  # free-text classname: the file attribute
        ("com.example.auth", "LoginTest::testLogin", "passed"),  # Java: the package, the class joins the name
        ("com.example.auth", "LoginTest$Inner::testNested", "skipped"),
        ("nested-suite", "deep check", "error"),  # <testsuites> inside <testsuites>, suites inside suites
    ]
    assert data["tests"][0]["id"] == "api-smoke::health answers 200"
    assert data["totals"] == {"total": 6, "passed": 3, "failed": 1, "errors": 1, "skipped": 1}
    assert [m["module"] for m in data["modules"]] == [
        "api-smoke",
        "com.example.auth",
        "nested-suite",
        "src/login.test.js",
    ]


def test_it_reads_utf16_junit_and_keeps_unicode(tmp_path):
    path = tmp_path / "dotnet.xml"
    xml = OTHER_PRODUCERS_XML.replace("UTF-8", "UTF-16").replace("got 200", "got 200 — café ✓")
    path.write_bytes(xml.encode("utf-16"))  # with its byte order mark, as .NET tools write it

    data = report_json(path)

    assert data["input_format"] == "junit"
    assert data["failures"][0]["message"] == "got 200 — café ✓"
    assert "| api-smoke::login rejects a bad password | failed | got 200 — café ✓ |" in report(
        path, "--format", "markdown"
    )


def test_it_prints_unicode_on_a_console_that_cannot_show_it(tmp_path):
    path = tmp_path / "unicode.xml"
    path.write_text(OTHER_PRODUCERS_XML.replace("got 200", "got 200 — café ✓"))

    completed = manage_py(path, "--skip-checks", env={"PYTHONIOENCODING": "ascii"})

    assert completed.returncode == 0, completed.stderr
    assert "got 200 \\u2014 caf\\xe9 \\u2713" in completed.stdout


def test_it_exits_2_on_a_missing_file(tmp_path):
    error = report_error(tmp_path / "missing.json")

    assert error.returncode == 2
    assert "cannot read" in str(error) and "No such file" in str(error)


@pytest.mark.parametrize(
    "content",
    [
        "<testsuites />",
        '<testsuite name="empty" tests="0" />',
        '{"created": 1, "root": "/x", "summary": {"total": 0}, "collectors": [], "tests": []}',
        '{"harness": "aos-e2e", "version": 1, "run": {"started_at": "2026-11-30T05:00:00Z", '
        '"base_url": "http://x"}, "tests": []}',
    ],
)
def test_it_never_passes_a_run_without_tests(tmp_path, content):
    path = tmp_path / "empty"
    path.write_text(content)

    error = report_error(path)  # even without --strict

    assert error.returncode == 2
    assert "no test results" in str(error)


def test_it_fails_strict_on_a_bare_testsuite_with_failures(tmp_path):
    path = tmp_path / "suite.xml"
    path.write_text(
        '<testsuite name="api" tests="2"><testcase classname="api.Login" name="ok" time="0.5"/>'
        '<testcase classname="api.Login" name="bad" time="1.25"><failure message="HTTP 500">trace</failure>'
        "</testcase></testsuite>"
    )

    data = report_json(path)
    assert data["totals"] == {"total": 2, "passed": 1, "failed": 1, "errors": 0, "skipped": 0}
    assert data["failures"][0]["id"] == "api::Login::bad" and data["failures"][0]["message"] == "HTTP 500"
    assert report_error(path, "--strict").returncode == 1


def test_it_exits_1_under_strict_when_a_real_run_failed(sample_run):
    completed = manage_py(sample_run["json"], "--strict", "--skip-checks")

    assert completed.returncode == 1
    assert "Result: FAILED" in completed.stdout
    assert completed.stderr.strip() == (
        "CommandError: e2e_report: --strict: tests failed (2 failed, 2 errors, 3 skipped of 11)."
    )


def test_it_exits_0_under_strict_when_every_test_of_a_real_run_passed(passing_run):
    assert passing_run["returncode"] == 0
    completed = manage_py(passing_run["json"], "--strict", "--skip-checks")

    assert completed.returncode == 0, completed.stderr
    assert "Result: PASSED" in completed.stdout
    assert "2 tests: 2 passed, 0 failed, 0 errors, 0 skipped; pass rate 100.0 %" in completed.stdout
    assert "Result: PASSED" in report(passing_run["xml"], "--strict")  # no CommandError


def test_it_exits_1_under_strict_when_every_test_was_skipped(tmp_path):
    path = tmp_path / "harness.json"
    harness = json.loads((FIXTURES / "harness_valid.json").read_text())
    harness["tests"] = [dict(test, status="skipped") for test in harness["tests"]]
    path.write_text(json.dumps(harness))

    assert report_json(path)["pass_rate"] is None
    assert "pass rate n/a" in report(path)
    error = report_error(path, "--strict")
    assert error.returncode == 1
    assert "every test was skipped" in str(error)


def test_it_forces_the_input_format(sample_run, tmp_path):
    assert "not valid XML" in str(report_error(sample_run["json"], "--input-format", "junit"))
    assert "tests[0]" in str(report_error(FIXTURES / "harness_valid.json", "--input-format", "pytest-json"))
    assert "schema" in str(report_error(sample_run["json"], "--input-format", "harness"))
    (tmp_path / "list.json").write_text("[]")
    assert "expected a JSON object" in str(report_error(tmp_path / "list.json", "--input-format", "pytest-json"))
    assert "not valid JSON" in str(report_error(sample_run["xml"], "--input-format", "pytest-json"))
    assert report_json(sample_run["xml"], "--input-format", "junit")["totals"] == SAMPLE_TOTALS


def test_it_prints_aligned_text_tables(sample_run):
    text = report(sample_run["json"], "--slowest", "2")

    assert text.startswith("E2E report: report.json (pytest-json)\nResult: FAILED\n")
    assert "11 tests: 4 passed, 2 failed, 2 errors, 3 skipped; pass rate 50.0 % (passed / (total - skipped))" in text
    modules = text.split("Modules:\n")[1].splitlines()
    assert modules[0].split() == ["module", "total", "passed", "failed", "errors", "skipped", "duration", "(s)"]
    assert modules[1].split()[:6] == ["sample_billing", "4", "1", "1", "1", "1"]
    assert len({len(line) for line in modules}) == 1  # right-aligned numbers: every row as wide as the header
    failures = text.split("Failures (4):\n")[1].split("\n\n")[0].splitlines()
    message_column = failures[0].index("message")
    assert all(line[message_column - 2 : message_column] == "  " for line in failures)
    assert failures[1][message_column:] == "AssertionError: basket total | wrong…"  # first line only
    slowest = text.split("Slowest 2:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[1] for line in slowest[1:]] == [
        "sample_checkout::test_it_waits_for_confirmation",
        "sample_checkout::TestRefunds::test_it_refunds_in_full",
    ]


def test_it_limits_the_slowest_list(sample_run):
    assert len(report_json(sample_run["json"], "--slowest", "1")["slowest"]) == 1
    assert "Slowest" not in report(sample_run["json"], "--slowest", "0")
    error = report_error(sample_run["json"], "--slowest", "-1")
    assert error.returncode == 2 and "--slowest must be 0 or more" in str(error)


def test_it_escapes_pipes_and_newlines_in_markdown(sample_run):
    markdown = report(FIXTURES / "harness_valid.json", "--format", "markdown")

    assert "| runtime/rate\\_limit | failed | expected 429 \\| got 200<br>Retry-After header missing |" in markdown
    for line in markdown.splitlines():
        if line.startswith("|"):
            # Every row of a table keeps its column count: no stray (unescaped) pipe, no line break.
            cells = line.replace("\\|", "").count("|")
            assert cells in (4, 3, 8), line
    assert markdown_escape("<script>a*b*</script>") == "&lt;script&gt;a\\*b\\*&lt;/script&gt;"

    run_markdown = report(sample_run["xml"], "--format", "markdown")
    assert "AssertionError: basket total \\| wrong<br>assert 3 == 4" in run_markdown
    assert "| Module | Total | Passed | Failed | Errors | Skipped | Duration (s) |" in run_markdown


def test_it_lists_only_the_first_failures_in_markdown_so_a_broken_run_fits_a_step_summary(tmp_path):
    harness = json.loads((FIXTURES / "harness_valid.json").read_text())
    harness["tests"] = [
        {"id": f"runtime/check_{n}", "module": "runtime", "status": "failed", "duration_ms": 1, "message": "x" * 2000}
        for n in range(MARKDOWN_FAILURES + 7)
    ]
    path = tmp_path / "broken_run.json"
    path.write_text(json.dumps(harness))

    markdown = report(path, "--format", "markdown")

    assert f"### Failures ({MARKDOWN_FAILURES + 7})" in markdown
    assert markdown.count("| failed |") == MARKDOWN_FAILURES
    assert f"runtime/check\\_{MARKDOWN_FAILURES - 1} |" in markdown
    assert f"runtime/check\\_{MARKDOWN_FAILURES} |" not in markdown
    assert "…and 7 more (`--format json` lists every failure)." in markdown
    assert len(report_json(path)["failures"]) == MARKDOWN_FAILURES + 7


def test_it_appends_markdown_to_the_github_step_summary(sample_run, monkeypatch, tmp_path):
    summary = tmp_path / "step_summary.md"
    summary.write_text("# Earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    text = report(sample_run["json"], "--github-summary")
    report(FIXTURES / "harness_valid.json", "--github-summary", "--format", "json")

    content = summary.read_text()
    assert content.startswith("# Earlier step\n## E2E report: report.json\n")
    assert content.count("## E2E report: ") == 2
    assert "## E2E report: harness\\_valid.json" in content
    assert "| sample\\_checkout | 7 | 3 | 1 | 1 | 2 |" in content
    assert text.startswith("E2E report: report.json")  # stdout keeps the chosen format


def test_it_refuses_github_summary_without_the_variable(sample_run, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    error = report_error(sample_run["json"], "--github-summary")

    assert error.returncode == 2
    assert "$GITHUB_STEP_SUMMARY" in str(error)


def test_it_exits_2_when_the_step_summary_cannot_be_written(sample_run, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))

    assert report_error(sample_run["json"], "--github-summary").returncode == 2


def test_it_documents_exit_codes_in_help():
    completed = manage_py("--help")

    assert completed.returncode == 0
    assert "exit codes:" in completed.stdout
    assert "1  --strict and a test failed or errored" in completed.stdout
    assert "pass rate = passed / (total - skipped)" in completed.stdout
