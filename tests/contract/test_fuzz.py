"""Issue 12: Schemathesis finds no failure in our API (zero 5xx, schema and server agree).

The suite runs the examples, fuzzing and stateful phases with a bounded number of examples per
operation and a fixed seed, against a live server on this test's database (both backends), in
about 40 s. `make fuzz` adds the coverage phase, many more examples and a random seed
(FUZZ_EXAMPLES, FUZZ_SEED, FUZZ_PHASES).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from django.db import connection

from accounts.models import Role, Tenant
from accounts.services import api_key_create
from tests.contract.fuzz import ROOT, run
from tests.contract.server import KeepConnectionsLiveServer

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("FUZZ_SEED", "12")
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")


@pytest.mark.django_db(transaction=True)
def test_it_passes_every_schemathesis_check_on_every_operation(settings, tmp_path):
    tenant = Tenant.objects.create(slug="fuzz", name="Fuzz", tier="unlimited")
    _, key = api_key_create(tenant=tenant, role=Role.ADMIN)
    # The Alertmanager receiver takes its own bearer token: the same value lets the fuzzer reach it too.
    settings.ALERTS_WEBHOOK_TOKEN = key
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""

    seed = int(SEED) if SEED else None
    with KeepConnectionsLiveServer(workers=2) as server:
        workers = int(os.environ.get("FUZZ_WORKERS", "1")) if connection.vendor == "postgresql" else 1
        result = run(
            base_url=server.url,
            api_key=key,
            max_examples=MAX_EXAMPLES,
            seed=seed,
            phases=PHASES,
            workers=workers,
            report_dir=tmp_path,
        )

    print("\n" + result.summary())
    assert result.report, result.output[-5000:]
    assert result.exit_code == 0 and result.failures == 0, result.output[-20000:]
    assert result.operations == result.report["operations"]["total"] >= 26
    ran = {name: result.report["phases"][name]["status"] for name in PHASES.split(",")}
    assert set(ran.values()) == {"success"}, ran
    assert result.requests >= result.test_cases >= 10 * MAX_EXAMPLES


def test_it_wires_make_fuzz_to_this_test_with_every_phase():
    result = subprocess.run(["make", "-n", "fuzz"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "FUZZ_PHASES=examples,coverage,fuzzing,stateful" in result.stdout
    assert "FUZZ_EXAMPLES=100" in result.stdout and "tests/contract/test_fuzz.py" in result.stdout
