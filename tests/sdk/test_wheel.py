"""`python -m build sdk/python` makes a wheel and an sdist; the wheel works in a venv without Django."""

import json
import subprocess
import sys
import tarfile
import zipfile

from aos_sdk import Trace
from tests.sdk.conftest import ROOT


def run(*args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs)
    return result


def test_it_builds_a_wheel_that_installs_and_verifies_without_the_server(tmp_path):
    dist = tmp_path / "dist"
    # --no-isolation: hatchling and build come pinned from requirements-dev.txt (no download at build time).
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT / "sdk/python")
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("aos_sdk-*.whl"))
    sdist = next(dist.glob("aos_sdk-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "aos_sdk/py.typed" in names and "aos_sdk/cli/app.py" in names and "aos_sdk/hashing.py" in names
    assert not any(n.startswith(("tests/", "runtime/", "traces/")) for n in names)
    assert any(n.endswith("sdk/python/README.md") or n.endswith("/README.md") for n in tarfile.open(sdist).getnames())

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    py, aos = venv / "bin/python", venv / "bin/aos"
    installed = run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr
    no_django = run(py, "-c", "import django", cwd=tmp_path)
    assert no_django.returncode == 1 and "No module named 'django'" in no_django.stderr
    helped = run(aos, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "Exit codes" in helped.stdout

    trace = Trace(plan=[{"skill": "json_transform", "params": {"payload": {"x": 1}, "query": "x"}}], seed=1)
    trace.add_step(skill="json_transform", params={"payload": {"x": 1}, "query": "x"}, output=1)
    good = trace.save(tmp_path / "good.trace.json")
    ok = run(aos, "verify", good, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("OK:"), ok.stdout + ok.stderr
    data = json.loads(good.read_text())
    data["steps"][0]["params"]["payload"]["x"] = 2
    bad = tmp_path / "tampered.trace.json"
    bad.write_text(json.dumps(data))
    refused = run(aos, "verify", bad, cwd=tmp_path)
    assert refused.returncode == 1 and "step 0" in refused.stdout and "steps[0].input_hash" in refused.stdout
