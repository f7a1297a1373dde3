"""The README's Secrets SDK example, run as written against a live server and a loopback echo."""

from __future__ import annotations

import re

from accounts.models import Role
from tests.conftest import client_with_key
from tests.servers import LocalServer
from traces.models import TraceStep
from vault.models import Secret

ROOT_README = __import__("pathlib").Path(__file__).resolve().parents[2] / "README.md"
TOKEN = "echo-token-Qw3rty/+9"


def test_it_runs_the_readme_sdk_example(live_server, tenant_a, settings, monkeypatch, capsys):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    section = ROOT_README.read_text().split("## Secrets", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)

    def echo(method, path, headers, body):
        return 200, {}, {"authorization": headers.get("Authorization", "")}

    with LocalServer(echo) as server:
        monkeypatch.setenv("AOS_BASE_URL", live_server.url)
        monkeypatch.setenv("AOS_ADMIN_KEY", client_with_key(tenant_a, Role.ADMIN).raw_key)
        monkeypatch.setenv("AOS_API_KEY", client_with_key(tenant_a, Role.DEVELOPER).raw_key)
        monkeypatch.setenv("ECHO_TOKEN", TOKEN)
        monkeypatch.setenv("ECHO_URL", server.url + "/user")
        exec(compile(code, "README.md", "exec"), {})
        assert server.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    printed = capsys.readouterr().out
    assert printed.splitlines() == ["['ECHO_TOKEN']", "succeeded {'authorization': 'Bearer ***'}"]
    assert Secret.objects.filter(tenant=tenant_a, name="ECHO_TOKEN").exists()
    assert TOKEN not in str(list(TraceStep.objects.values_list("params", "output")))
