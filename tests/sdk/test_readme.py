"""The README's SDK quick start and the SDK README's Python examples, run as written."""

import os
import re
import subprocess

from accounts.models import Role
from aos_sdk import AOSClient
from aos_sdk import Trace as SDKTrace
from tests.sdk.conftest import ROOT, key
from traces.models import Trace, TraceSource
from triage.models import MismatchGroup

QUICK_START_EXPORT = "export AOS_BASE_URL=http://127.0.0.1:8000 AOS_API_KEY=aos_..."


def _blocks(path, lang):
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), re.S)


def test_it_runs_the_readme_quick_start(live_server, tenant_a, tmp_path):
    block = next(b for b in _blocks(ROOT / "README.md", "sh") if ".venv/bin/aos verify" in b)
    lines = [line.split("  #")[0].strip() for line in block.strip().splitlines()]
    assert lines[0].startswith("export AOS_BASE_URL=http://127.0.0.1:8000 AOS_API_KEY=aos_...")
    assert len(lines) == 5
    env = {**os.environ, "AOS_BASE_URL": live_server.url, "AOS_API_KEY": key(tenant_a, Role.DEVELOPER)}
    saved = tmp_path / "run.trace.json"
    outputs = []
    for line in lines[1:]:
        argv = line.replace("run.trace.json", str(saved)).split()
        argv[0] = str(ROOT / argv[0])
        result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
        outputs.append(result.stdout)
    assert "ok" in outputs[0] and "status: feasible" in outputs[1] and "status: succeeded" in outputs[2]
    run = Trace.objects.get(source=TraceSource.RUN)
    assert outputs[3].startswith("OK:") and run.root_hash in outputs[3]


def diverged_group(url: str, api_key: str) -> MismatchGroup:
    """A group as the README's first mismatch makes one: recorded {"y": 2}, computed {"y": 1}, replayed."""
    params = {"payload": {"x": 1}, "mapping": {"y": "x"}}
    trace = SDKTrace(plan=[{"skill": "json_transform", "params": params}], seed=42, agent_id="readme")
    trace.add_step(skill="json_transform", params=params, output={"y": 2})
    with AOSClient(url, api_key=api_key) as aos:
        aos.ingest_trace(trace)
        assert not aos.replay(trace.trace_id).parity
    return MismatchGroup.objects.get()


def test_it_runs_the_sdk_readme_examples(live_server, tenant_a, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AOS_BASE_URL", live_server.url)
    monkeypatch.setenv("AOS_API_KEY", key(tenant_a, Role.DEVELOPER))
    monkeypatch.chdir(tmp_path)
    blocks = _blocks(ROOT / "sdk/python/README.md", "python")
    assert len(blocks) == 3
    client, groups, traces = blocks
    assert "mismatch_groups(" in groups
    for code in (client, traces):
        exec(compile(code, "sdk/python/README.md", "exec"), {})
    assert (tmp_path / "example.trace.json").exists()
    assert Trace.objects.filter(source=TraceSource.REPLAY).count() == 1

    operator = key(tenant_a, Role.OPERATOR)
    group = diverged_group(live_server.url, operator)
    monkeypatch.setenv("AOS_API_KEY", operator)
    capsys.readouterr()
    exec(compile(groups, "sdk/python/README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{group.pk} unresolved 1 output_mismatch at step 0 ")
    assert printed[1:] == ["y 2 -> 1", "['reported']", "resolved fixed", "409 conflict"]
    group.refresh_from_db()
    assert (group.status, group.resolution_kind, group.resolution_note) == (
        "resolved",
        "fixed",
        "fixed the recorded output",
    )


def test_it_runs_the_readme_group_commands(live_server, tenant_a):
    """The SDK and CLI section's triage block, run as written (bash -e) against a group of a real divergence."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"<!-- groups:start -->\n```sh\n(.*?)```\n<!-- groups:end -->", readme, re.S)
    assert section, "the README lost its groups block markers"
    block = section.group(1)
    assert block.startswith(QUICK_START_EXPORT)
    operator = key(tenant_a, Role.OPERATOR)
    group = diverged_group(live_server.url, operator)
    script = block.replace(QUICK_START_EXPORT, f"export AOS_BASE_URL={live_server.url} AOS_API_KEY={operator}", 1)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AOS_")}, "COLUMNS": "250"}
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    out = result.stdout
    listed, shown = out.split(f"mismatch group {group.pk}", 1)
    assert "mismatch groups" in listed and "output_mismatch" in listed and "readme" in listed
    assert "diverged at step 0 (json_transform): output_mismatch" in shown and "timeline" in shown
    assert f"resolved group {group.pk} as fixed by" in shown and "(1 mismatch)" in shown
    group.refresh_from_db()
    assert (group.status, group.resolution_kind, group.resolution_note) == (
        "resolved",
        "fixed",
        "fixed the recorded price",
    )
