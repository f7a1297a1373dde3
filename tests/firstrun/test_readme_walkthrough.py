"""The README's "First ten minutes" block, run as written against a live server (both backends)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from accounts.models import Role, Tenant
from accounts.services import api_key_create
from traces.models import Trace, TraceSource
from triage.models import Mismatch

ROOT = Path(__file__).resolve().parents[2]
EXPORT = "export AOS_BASE_URL=http://127.0.0.1:8000 AOS_API_KEY=aos_..."


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"<!-- walkthrough:start -->\n```sh\n(.*?)```\n<!-- walkthrough:end -->", readme, re.S)
    assert section, "the README lost its walkthrough markers"
    return section.group(1)


def test_it_runs_the_readme_walkthrough_as_written(live_server, tmp_path):
    block = walkthrough()
    assert block.startswith(EXPORT)
    for bare in ("python manage.py", "\naos ", "\npython "):
        assert bare not in block  # only .venv/bin/ or make: runnable outside an activated venv
    tenant = Tenant.objects.create(slug="demo", name="Demo tenant", tier="dev")
    _, raw = api_key_create(tenant=tenant, role=Role.OPERATOR, name="demo (make run)")
    script = block.replace(EXPORT, f"export AOS_BASE_URL={live_server.url} AOS_API_KEY={raw}", 1)
    # A scratch directory shaped like the repository: the files the walkthrough writes land here.
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    # A wide terminal: `aos runs` must not wrap the run id (pytest-xdist workers export COLUMNS=80).
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AOS_")}, "COLUMNS": "200"}
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, (out, result.stderr)

    simulate = json.loads(out[: out.index("\n")])
    assert (simulate["status"], simulate["feasible"]) == ("feasible", True)
    run = Trace.objects.get(source=TraceSource.RUN, tenant=tenant)
    assert json.loads((tmp_path / "run.json").read_text())["run_id"] == run.run_id
    assert run.steps.get().output == {"usd": 97000}
    assert f"parity: true  mode: recorded  original: {run.run_id}" in out
    assert "ingested: HTTP 201" in out
    replay = json.loads(next(line for line in out.splitlines() if line.startswith('{"parity":false')))
    assert replay["divergence"]["reason"] == "output_mismatch" and replay["divergence"]["step_index"] == 0
    assert (replay["divergence"]["expected"], replay["divergence"]["actual"]) == ({"y": 2}, {"y": 1})
    mismatch = Mismatch.objects.get(trace__trace_id="tr_first_mismatch", trace__tenant=tenant)
    assert mismatch.reason == "output_mismatch" and str(mismatch.pk) in out  # listed by `aos mismatches`
    assert run.run_id in out.split(str(mismatch.pk))[-1]  # and the run by `aos runs`, after it


def test_it_ingests_a_first_mismatch_trace_that_verifies():
    """The example's trace is well-formed (hashes verify): only the replay can tell it is wrong."""
    from aos_sdk.trace import verify

    printed = subprocess.run(
        [sys.executable, str(ROOT / "examples/first_mismatch/make_trace.py")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    payload = json.loads(printed.stdout)
    assert payload["overwrite"] is True and payload["steps"][0]["output"] == {"y": 2}
    payload.pop("overwrite")
    assert verify(payload) is None


def test_it_keeps_the_readme_self_contained_and_its_recipes_runnable():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "(docs/contract.md)" in readme
    links = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", readme)
    assert links and [link for link in links if not (ROOT / link).exists()] == []
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", readme, re.S))
    bare = [line for line in blocks.splitlines() if re.match(r"\s*(python|pip|aos|pytest|celery) ", line)]
    assert bare == []  # through .venv/bin/ or make, so they work without an activated virtualenv


def test_it_shows_runs_under_the_admin_link_the_walkthrough_gives(client, django_user_model, tenant_a):
    readme = (ROOT / "README.md").read_text()
    link = "/admin/traces/trace/?source__exact=run"
    assert f"(`{link}`)" in readme
    run = Trace.objects.create(tenant=tenant_a, trace_id="tr_run", run_id="run_1", source=TraceSource.RUN)
    Trace.objects.create(tenant=tenant_a, trace_id="tr_ingested", source=TraceSource.INGEST)
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-root"))
    page = client.get(link)
    assert page.status_code == 200
    assert run.trace_id in page.content.decode() and "tr_ingested" not in page.content.decode()
