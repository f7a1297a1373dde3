"""Schemathesis against a running server: the suite's bounded run and `make fuzz`'s long one.

Runs the real CLI (`st run`) on our own schema, with every check enabled (the default; an explicit
`--checks all` would override the per-operation settings in `schemathesis.toml`), positive and
negative data, and the phases asked for: examples, coverage (boundary values and type mutations of
every parameter, about 6,000 requests whatever the example count: `make fuzz` only), fuzzing and
stateful (sequences along the schema's links).
Requests are counted on the server (django-prometheus' request counter), not estimated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REQUESTS_METRIC = "django_http_requests_before_middlewares"


@dataclass
class FuzzResult:
    exit_code: int
    output: str
    report: dict
    requests: int

    @property
    def operations(self) -> int:
        return self.report["operations"]["tested"]

    @property
    def test_cases(self) -> int:
        return self.report["test_cases"]["generated"]

    @property
    def failures(self) -> int:
        return self.report["test_cases"]["unique_failures"]

    def summary(self) -> str:
        phases = ", ".join(f"{name} {p['status']}" for name, p in self.report["phases"].items())
        return (
            f"schemathesis {self.report['schemathesis_version']}: {self.operations} operations tested "
            f"(of {self.report['operations']['total']}), {self.test_cases} test cases, {self.requests} requests "
            f"served, {self.failures} failures, seed {self.report['seed']}, "
            f"{self.report['running_time']:.1f} s; phases: {phases}"
        )


def served_requests(base_url: str) -> int:
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == REQUESTS_METRIC:
            return int(sum(sample.value for sample in family.samples if sample.name.endswith("_total")))
    raise AssertionError(f"{REQUESTS_METRIC} is not exported")


ALL_PHASES = "examples,coverage,fuzzing,stateful"


def run(
    *,
    base_url: str,
    api_key: str,
    max_examples: int,
    seed: int | None,
    phases: str = ALL_PHASES,
    workers: int = 1,
    report_dir: Path,
) -> FuzzResult:
    report = report_dir / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base_url}/api/schema/",
        "--header",
        f"Authorization: Bearer {api_key}",
        "--mode",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        # Our own credentials are sent; generating values for the security schemes would only test junk keys.
        "--generation-with-security-parameters",
        "false",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *(["--seed", str(seed)] if seed is not None else []),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.st_hooks", "PYTHONPATH": str(ROOT)}
    before = served_requests(base_url)
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    served = served_requests(base_url) - before - 2  # the two /metrics reads
    return FuzzResult(
        exit_code=completed.returncode,
        output=completed.stdout + completed.stderr,
        report=json.loads(report.read_text()) if report.exists() else {},
        requests=served,
    )
