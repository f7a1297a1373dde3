"""The last "(s)" messages count in the right number: `aos verify`, `rotate_secrets`, the demos (1 and 2)."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from aos_sdk.cli.views import show_verify
from aos_sdk.models import Run, Step
from tests.sdk.conftest import ROOT
from vault import crypto
from vault.services import secret_put


@pytest.mark.parametrize(("steps", "said"), [(1, "1 step,"), (2, "2 steps,")])
def test_aos_verify_counts_the_steps(capsys, steps, said):
    show_verify("run.trace.json", {"steps": [{}] * steps, "root_hash": "r" * 64}, None)
    printed = capsys.readouterr().out
    assert f"OK: run.trace.json: {said} every hash verifies" in printed and "(s)" not in printed


def test_the_sdk_counts_without_importing_the_server():
    code = (
        "import sys, aos_sdk.cli.views; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'aosproject')], 'server imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT / "sdk/python", timeout=60)


@pytest.mark.parametrize(("count", "said"), [(1, "re-encrypted 1 secret with"), (2, "re-encrypted 2 secrets with")])
def test_rotate_secrets_counts_what_it_re_encrypted(tenant_a, settings, count, said):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.AOS_SECRETS_KEYS = [old]
    crypto._fernet.cache_clear()
    for i in range(count):
        secret_put(tenant=tenant_a, name=f"KEY_{i}", value="long-enough-value")
    settings.AOS_SECRETS_KEYS = [new, old]
    crypto._fernet.cache_clear()
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert said in out.getvalue() and "(s)" not in out.getvalue()
    settings.AOS_SECRETS_KEYS = [Fernet.generate_key().decode()]  # now none of them is readable
    crypto._fernet.cache_clear()
    with pytest.raises(CommandError) as unreadable:
        call_command("rotate_secrets", stdout=io.StringIO())
    noun = "1 secret cannot" if count == 1 else "2 secrets cannot"
    assert str(unreadable.value).startswith(f"{noun} be decrypted with any key in AOS_SECRETS_KEYS")
    crypto._fernet.cache_clear()


@pytest.mark.parametrize(("steps", "title"), [(1, "first 1 step"), (2, "first 2 steps")])
def test_the_json_transform_demo_counts_the_steps_it_shows(steps, title):
    spec = importlib.util.spec_from_file_location("json_transform_demo", ROOT / "examples/json_transform/demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    run = Run(trace_id="t-1", steps=[Step(index=i, output={"n": i}) for i in range(steps)])
    assert demo.steps_table(run).title == f"trace t-1: {title}"
