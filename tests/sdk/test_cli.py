"""The `aos` CLI through its console-script entry point, in a subprocess, against a live server."""

import json
import os
import shutil
import subprocess

import pytest

from accounts.models import Role
from tests.sdk.conftest import BIN, PURE_PLAN, ROOT, key
from traces.models import TraceStep
from triage.models import Mismatch

AOS = str(BIN / "aos")


@pytest.fixture
def aos(live_server, tenant_a):
    env = {
        **os.environ,
        "AOS_BASE_URL": live_server.url,
        "AOS_API_KEY": key(tenant_a, Role.OPERATOR),
        "COLUMNS": "200",
    }

    def call(*args, expect=0, env_extra=None):
        result = subprocess.run(
            [AOS, *args], env={**env, **(env_extra or {})}, capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
        return result

    return call


def jsonout(result):
    return json.loads(result.stdout)


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PURE_PLAN))
    return str(path)


def test_it_documents_the_exit_codes_in_help():
    result = subprocess.run([AOS, "--help"], capture_output=True, text=True, check=True)
    assert "0  ok" in result.stdout and "1  a negative result" in result.stdout and "2  usage error" in result.stdout
    for command in (
        "health",
        "skills",
        "skill",
        "simulate",
        "run",
        "replay",
        "runs",
        "traces",
        "trace",
        "diff",
        "verify",
        "mismatches",
        "resolve",
        "groups",
        "group",
        "resolve-group",
    ):
        assert f"  {command} " in result.stdout


def test_it_shows_health_me_skills_and_one_skill(aos):
    assert ": ok" in aos("health").stdout
    assert jsonout(aos("health", "--json")) == {"status": "ok"}
    assert jsonout(aos("me", "--json"))["tenant"] == "tenant-a"
    table = aos("skills").stdout
    assert "json_transform" in table and "side effects" in table
    assert {s["id"] for s in jsonout(aos("skills", "--json"))} >= {"http_call", "webhook_send"}
    assert "ERR_TIMEOUT" in aos("skill", "http_call").stdout
    assert jsonout(aos("skill", "http_call", "--json"))["id"] == "http_call"
    missing = aos("skill", "nope", "--json", expect=2)
    assert jsonout(missing)["error"] == "not_found" and "404 not_found" in missing.stderr
    assert "available: http_call, json_transform" in missing.stderr


def test_it_simulates_with_exit_1_when_infeasible(aos, plan_file, tmp_path):
    table = aos("simulate", plan_file, "--seed", "1").stdout
    assert "status: feasible" in table and "step estimates" in table
    saved = jsonout(aos("simulate", plan_file, "--save-trace", "--json"))
    assert saved["feasible"] and saved["trace_id"].startswith("sim_")
    costly = tmp_path / "costly.json"
    costly.write_text(
        json.dumps(
            {
                "plan": [
                    {
                        "skill": "llm_invoke",
                        "params": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4000},
                    }
                ]
            }
        )
    )
    infeasible = aos("simulate", str(costly), "--budget", "0", "--json", expect=1)
    assert jsonout(infeasible)["status"] == "budget_insufficient"


def test_it_runs_replays_lists_and_saves_and_verifies_traces(aos, plan_file, tmp_path):
    input_file = tmp_path / "input.json"
    input_file.write_text('{"who": "cli"}')
    run = jsonout(aos("run", plan_file, "--input", str(input_file), "--seed", "5", "--json"))
    assert run["status"] == "succeeded" and run["input"] == {"who": "cli"}
    table = aos("run", plan_file, "--seed", "5").stdout
    assert "status: succeeded" in table and "json_transform" in table and "root_hash" in table
    queued = jsonout(aos("run", plan_file, "--no-wait", "--json"))
    assert queued["status"] in ("queued", "running", "succeeded") and queued["run_id"]

    replay = aos("replay", run["run_id"]).stdout
    assert "parity: true" in replay
    dry = jsonout(aos("replay", run["run_id"], "--mode", "live", "--dry-run", "--json"))
    assert dry["parity"] and dry["dry_run"] and dry["mode"] == "live"

    assert run["run_id"] in aos("runs", "--limit", "50").stdout
    listed = jsonout(aos("runs", "--source", "replay", "--json"))
    assert listed and {r["source"] for r in listed} == {"replay"}
    traces = jsonout(aos("traces", "--source", "run", "--limit", "2", "--json"))
    assert len(traces) == 2 and {t["source"] for t in traces} == {"run"}
    assert "trace_id" in aos("traces", "--status", "succeeded").stdout

    saved = tmp_path / "run.trace.json"
    shown = aos("trace", run["run_id"], "--save", str(saved)).stdout
    assert run["trace_id"] in shown and f"saved {saved}" in shown
    assert jsonout(aos("trace", run["trace_id"], "--json"))["root_hash"] == run["root_hash"]
    ok = aos("verify", str(saved))
    assert ok.stdout.startswith("OK:") and run["root_hash"] in ok.stdout
    assert jsonout(aos("verify", str(saved), "--json"))["ok"] is True

    assert "match" in aos("diff", str(saved), run["trace_id"]).stdout
    tampered = tmp_path / "tampered.trace.json"
    data = json.loads(saved.read_text())
    data["steps"][0]["output"] = {"y": 2}
    tampered.write_text(json.dumps(data))
    bad = aos("verify", str(tampered), expect=1)
    assert "FAILED" in bad.stdout and "step 0" in bad.stdout and "steps[0].output_hash" in bad.stdout
    assert jsonout(aos("verify", str(tampered), "--json", expect=1))["error"]["step_index"] == 0
    assert "the step hashes agree but the content does not" in aos("diff", str(saved), str(tampered), expect=1).stdout
    differ = aos("diff", str(saved), str(tampered), "--json", expect=1)
    assert {"path": "steps[0].output.y", "a": 1, "b": 2} in jsonout(differ)["differences"]

    other = jsonout(aos("run", plan_file, "--seed", "6", "--json"))
    cross = jsonout(aos("diff", run["run_id"], other["run_id"], "--json", expect=1))
    assert any(d["path"] == "seed" for d in cross["differences"])


def test_it_exits_1_for_a_failed_run_and_a_lost_parity_then_lists_and_resolves(aos, tmp_path):
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps([{"skill": "json_transform", "params": {"payload": "text", "query": "abs(@)"}}]))
    failed = jsonout(aos("run", str(failing), "--json", expect=1))
    assert failed["status"] == "failed"

    good = tmp_path / "good.json"
    good.write_text(json.dumps(PURE_PLAN))
    run = jsonout(aos("run", str(good), "--json"))
    TraceStep.objects.filter(trace__run_id=run["run_id"]).update(output={"y": 5})  # the record was edited
    lost = aos("replay", run["run_id"], expect=1).stdout
    assert "parity: false" in lost and "first divergence: step 0 output_mismatch" in lost

    unresolved = jsonout(aos("mismatches", "--unresolved", "--json"))
    assert [m["trace_id"] for m in unresolved] == [run["trace_id"]]
    assert run["trace_id"] in aos("mismatches").stdout
    mid = unresolved[0]["id"]
    assert "resolved" in aos("resolve", run["trace_id"], mid, "--note", "edited by a test").stdout
    assert Mismatch.objects.get(pk=mid).resolution_note == "edited by a test"
    assert jsonout(aos("mismatches", "--unresolved", "--json")) == []
    again = jsonout(aos("resolve", run["trace_id"], mid, "--json", expect=2))
    assert again["error"] == "conflict"


def test_it_exits_2_for_usage_bad_files_bad_keys_and_unreachable_servers(aos, tmp_path):
    assert "Usage" in aos("run", expect=2).stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "cannot read plan" in aos("run", str(broken), expect=2).stderr
    assert "cannot read plan" in aos("simulate", str(tmp_path / "missing.json"), expect=2).stderr
    assert "not a verifiable trace" in aos("verify", str(broken), expect=2).stderr
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps([{"skill": "json_transform", "params": {"bogus": 1}}]))
    refused = aos("run", str(invalid), "--json", expect=2)
    assert jsonout(refused)["error"] == "validation_error" and "plan[0].params.payload" in refused.stderr
    denied = aos("me", "--json", expect=2, env_extra={"AOS_API_KEY": "aos_not_a_key"})
    assert jsonout(denied)["error"] == "not_authenticated"
    down = aos("--base-url", "http://127.0.0.1:9", "--retries", "0", "health", "--json", expect=2)
    assert jsonout(down)["error"] == "connection_error"


def test_it_shows_a_progress_spinner_only_on_a_terminal(live_server, tenant_a, plan_file):
    script = shutil.which("script")  # util-linux: runs the command on a pseudo-terminal
    if script is None:
        pytest.skip("needs util-linux `script` for a pseudo-terminal")
    env = {**os.environ, "AOS_BASE_URL": live_server.url, "AOS_API_KEY": key(tenant_a, Role.DEVELOPER)}
    on_tty = subprocess.run(
        [script, "-qec", f"{AOS} run {plan_file} --seed 3", "/dev/null"], env=env, capture_output=True, timeout=60
    )
    assert on_tty.returncode == 0, on_tty.stdout
    assert "running…".encode() in on_tty.stdout and b"status: succeeded" in on_tty.stdout
    piped = subprocess.run([AOS, "run", plan_file, "--seed", "3"], env=env, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "running" not in piped.stdout + piped.stderr
