"""The README's SDK quick start and the SDK README's Python examples, run as written."""

import os
import re
import subprocess

from accounts.models import Role
from tests.sdk.conftest import ROOT, key
from traces.models import Trace, TraceSource


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


def test_it_runs_the_sdk_readme_examples(live_server, tenant_a, tmp_path, monkeypatch):
    monkeypatch.setenv("AOS_BASE_URL", live_server.url)
    monkeypatch.setenv("AOS_API_KEY", key(tenant_a, Role.DEVELOPER))
    monkeypatch.chdir(tmp_path)
    blocks = _blocks(ROOT / "sdk/python/README.md", "python")
    assert len(blocks) == 2
    for code in blocks:
        exec(compile(code, "sdk/python/README.md", "exec"), {})
    assert (tmp_path / "example.trace.json").exists()
    assert Trace.objects.filter(source=TraceSource.REPLAY).count() == 1
