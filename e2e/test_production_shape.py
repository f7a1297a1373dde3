"""`make e2e`: the production shape (e2e/stack.py), driven through HTTP only, with the SDK and raw requests.

The steps run in file order and build on each other (a tenant, its runs, a tampered trace, its mismatch and
GitHub issue...). Operator commands (create_tenant, prune_traces, inject_synthetic_alert) run as `manage.py`
with the stack's environment, as on a web host. The database is read directly only to check what the metrics
say, and written once, to age traces for retention (nobody can wait 30 days).
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from aos_sdk import AOSClient, Trace
from e2e.conftest import make_tenant
from e2e.stack import HTTPS_ONLY_CHECKS
from tests.servers import LocalServer

PARAMS = {"payload": {"price": {"usd": 97000}}, "mapping": {"usd": "price.usd"}}
PURE_PLAN = [{"skill": "json_transform", "params": PARAMS}]
TIMESTAMP = "2026-01-01T00:00:00Z"


def eventually(predicate, *, timeout: float = 30, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def promql(stack, query: str) -> dict[tuple, float]:
    body = requests.get(f"{stack.prometheus}/api/v1/query", params={"query": query}, timeout=5).json()
    assert body["status"] == "success", body
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]}


def by_label(stack, query: str, label: str) -> dict[str, float]:
    return {dict(labels).get(label, ""): value for labels, value in promql(stack, query).items()}


def test_it_is_clean_under_check_deploy_apart_from_the_https_items(stack):
    output = stack.check_deploy_output
    found = {line.split("(")[1].split(")")[0] for line in output.splitlines() if line.startswith("?: (")}
    assert found <= set(HTTPS_ONLY_CHECKS), output
    assert "ERRORS" not in output, output


def test_it_serves_health_ready_and_closed_metrics(stack):
    assert requests.get(f"{stack.web}/health", timeout=5).status_code == 200
    ready = requests.get(f"{stack.web}/ready", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "cache": "ok"}
    assert requests.get(f"{stack.web}/metrics", timeout=5).status_code in (401, 403)  # DEBUG=0: closed
    token = {"Authorization": f"Bearer {stack.keys.metrics_token}"}
    scraped = requests.get(f"{stack.web}/metrics", headers=token, timeout=5)
    assert scraped.status_code == 200 and "aos_rate_limit_tier_limit" in scraped.text
    # Static files collected and served by WhiteNoise with DEBUG=0 (the admin's CSS).
    assert requests.get(f"{stack.web}/static/admin/css/base.css", timeout=5).status_code == 200


def test_it_provisions_a_tenant_and_keys_that_resolve_to_their_roles(stack, acme):
    for role, client in acme.clients.items():
        me = client.me()
        assert (me.tenant, role in me.roles) == (acme.slug, True), me
    other = make_tenant(stack, "other", roles=("admin",))
    # Another tenant's key sees none of acme's data: 404, never 403.
    response = requests.get(f"{stack.web}/api/v1/secrets/NOPE", headers={"X-API-Key": other.keys["admin"]}, timeout=5)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert requests.get(f"{stack.web}/api/v1/me", timeout=5).status_code == 401


def test_it_sets_a_secret_uses_it_in_a_run_and_never_shows_it(stack, acme):
    value = "e2e-s3cret-value-" + acme.slug
    received: list[dict] = []

    def echo(method, path, headers, body):
        received.append(headers)
        return 200, {}, {"ok": True}

    assert acme.client("admin").put_secret("ECHO_TOKEN", value).name == "ECHO_TOKEN"
    with pytest.raises(Exception) as refused:
        acme.client("developer").put_secret("ECHO_TOKEN", "nope")  # admin only
    assert getattr(refused.value, "status_code", None) == 403
    with LocalServer(echo) as server:
        plan = [
            {
                "skill": "http_call",
                "params": {
                    "method": "GET",
                    "url": f"{server.url}/echo",
                    "headers": {"Authorization": "Bearer {{ secrets.ECHO_TOKEN }}"},
                },
            }
        ]
        run = acme.client("developer").run(plan, seed=1, timeout=60)
    assert run.status == "succeeded", run.raw
    assert {h.get("Authorization") for h in received} == {f"Bearer {value}"}
    shown = requests.get(
        f"{stack.web}/api/v1/runtime/runs/{run.run_id}", headers={"X-API-Key": acme.keys["developer"]}, timeout=5
    )
    assert shown.status_code == 200 and value not in shown.text


def test_it_simulates_deterministically(stack, acme):
    client = acme.client("developer")
    simulation = client.simulate(PURE_PLAN, seed=42, timestamp=TIMESTAMP, budget_cents=100)
    assert simulation.feasible and simulation.status == "feasible"
    body = {"plan": PURE_PLAN, "seed": 42, "timestamp": TIMESTAMP, "budget_cents": 100}
    headers = {"X-API-Key": acme.keys["developer"]}
    first, second = (
        requests.post(f"{stack.web}/api/v1/runtime/simulate", json=body, headers=headers, timeout=10) for _ in "ab"
    )
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # byte-identical (PRODUCT.md §4)
    assert first.headers["X-RateLimit-Limit"]
    headers["Content-Type"] = "application/json"
    bad = requests.post(f"{stack.web}/api/v1/runtime/simulate", data="{", headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"] in {"malformed_json", "validation_error"}, bad.text


def test_it_runs_async_on_the_worker_and_waiting(stack, acme, journey):
    client = acme.client("developer")
    queued = requests.post(
        f"{stack.web}/api/v1/runtime/runs",
        json={"plan": PURE_PLAN, "seed": 7, "timestamp": TIMESTAMP, "wait": False},
        headers={"X-API-Key": acme.keys["developer"], "Idempotency-Key": f"e2e-{acme.slug}-async"},
        timeout=10,
    )
    assert queued.status_code == 202 and queued.json()["status"] == "queued", queued.text
    finished = client.wait_for_run(queued.json()["run_id"], timeout=60, poll_interval=0.2)
    assert finished.status == "succeeded" and finished.steps[0].output == {"usd": 97000}
    waited = client.run(PURE_PLAN, seed=42, timestamp=TIMESTAMP, timeout=60)
    assert waited.status == "succeeded" and waited.root_hash
    journey["run"] = waited
    # The worker executed both: its log names the runs.
    worker_log = stack.process("worker").tail(1_000_000)
    assert queued.json()["run_id"] in worker_log and waited.run_id in worker_log


def test_it_replays_with_parity(stack, acme, journey):
    result = acme.client("developer").replay(journey["run"].run_id)
    assert result.parity is True and result.divergence is None, result.raw
    assert result.root_hash == journey["run"].root_hash


def _tampered(run, trace_id: str) -> Trace:
    """The run's own recording with step 0's output edited: well-formed (hashes recomputed), but a lie."""
    trace = Trace(plan=run.plan, seed=run.seed, timestamp=run.timestamp, trace_id=trace_id, agent_id="e2e")
    step = run.steps[0]
    trace.add_step(skill=step.skill, params=step.params, output={**step.output, "usd": 1})
    return trace


def test_it_replays_a_tampered_trace_with_a_mismatch(stack, acme, journey):
    client = acme.client("developer")
    trace_id = f"tampered-{journey['run'].run_id}"
    stored = client.ingest_trace(_tampered(journey["run"], trace_id))
    assert stored.trace_id == trace_id and stored.source == "ingest"
    result = client.replay(trace_id)
    assert result.parity is False
    assert result.divergence["step_index"] == 0 and result.divergence["reason"] == "output_mismatch"
    assert result.mismatch_id
    journey["tampered"], journey["mismatches"] = trace_id, [result.mismatch_id]


def test_it_files_exactly_one_github_issue_and_comments_a_repeat(stack, acme, journey):
    client = acme.client("operator")
    trace_id = journey["tampered"]

    def notified():
        found = list(client.list_mismatches(trace_id=trace_id))
        return found if found and all(m.notification_state == "sent" for m in found) else None

    [mismatch] = eventually(notified, timeout=60, what="the mismatch's GitHub issue")
    issues = stack.github.created_issues()
    assert len(issues) == 1, issues
    [issue] = issues
    assert issue["title"] == f"[Replay Mismatch] trace:{trace_id} step:0"
    assert {"replay-mismatch", "aos", "automated"} <= set(issue["labels"])
    assert mismatch.issue_url.endswith("/issues/1")
    # The same fingerprint again: a comment on the open issue, not a second issue.
    again = acme.client("developer").replay(trace_id)
    assert again.parity is False and again.mismatch_id != mismatch.id
    journey["mismatches"].append(again.mismatch_id)
    eventually(lambda: len(issue["comments"]) == 1, timeout=60, what="a comment on the open issue")
    assert len(stack.github.created_issues()) == 1


def test_it_resolves_from_the_api_and_the_issue_is_closed(stack, acme, journey):
    client = acme.client("operator")
    trace_id = journey["tampered"]
    [issue] = stack.github.created_issues()
    first, second = journey["mismatches"]
    assert client.resolve_mismatch(trace_id, first, note="edited recording").resolved
    eventually(lambda: any("Resolved by" in c for c in issue["comments"]), timeout=60, what="the resolve comment")
    assert issue["state"] == "open"  # the second mismatch still shares it
    assert client.resolve_mismatch(trace_id, second, note="same").resolved
    eventually(lambda: issue["state"] == "closed", timeout=60, what="the issue to be closed")
    assert not list(client.list_mismatches(resolved=False))
    # A developer may not resolve (operator+).
    with pytest.raises(Exception) as refused:
        acme.client("developer").resolve_mismatch(trace_id, first)
    assert getattr(refused.value, "status_code", None) == 403


def test_it_has_the_same_figures_in_prometheus_as_in_the_database(stack, acme):
    db_runs = dict(stack.sql("SELECT status, count(*) FROM traces_trace WHERE source = 'run' GROUP BY status"))
    assert db_runs and set(db_runs) <= {"succeeded", "failed"}, db_runs
    [(db_replays,)] = stack.sql("SELECT count(*) FROM traces_trace WHERE source = 'replay'")
    # Only acme replayed; every replay without parity recorded one mismatch (read through the API).
    diverged = len(list(acme.client("viewer").list_mismatches()))

    def figures():
        runs = {k: v for k, v in by_label(stack, "sum by (status) (aos_runs_total)", "status").items() if v}
        replays = {k: v for k, v in by_label(stack, "sum by (parity) (aos_replays_total)", "parity").items() if v}
        unresolved = list(promql(stack, 'aos_mismatches_unresolved{job="aos-web"}').values())
        return {"runs": runs, "replays": replays, "unresolved": unresolved}

    expected = {
        "runs": {k: float(v) for k, v in db_runs.items()},
        "replays": {"true": float(db_replays - diverged), "false": float(diverged)},
        "unresolved": [0.0],
    }
    found: dict = {}
    try:
        eventually(lambda: found.update(figures()) or found == expected, timeout=30, what="Prometheus = database")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nPrometheus {found}\ndatabase   {expected}") from None
    print(f"\nPrometheus {found}\ndatabase   {expected}")
    up = promql(stack, 'up{job=~"aos-web|aos-worker|aos-pushgateway"}')
    assert sorted(dict(k)["job"] for k in up) == ["aos-pushgateway", "aos-web", "aos-worker"]
    assert set(up.values()) == {1.0}


def test_it_prunes_expired_traces_and_keeps_fresh_ones(stack, journey):
    retention = make_tenant(stack, "retention", roles=("developer",))
    client = retention.client("developer")
    runs = [client.run(PURE_PLAN, seed=n, timeout=60) for n in range(3)]
    aged = [run.trace_id for run in runs[:2]]
    # Time passing is the only thing faked: the two traces are made 40 days old (retention_days 30).
    stack.sql("UPDATE traces_trace SET created_at = now() - interval '40 days' WHERE trace_id = ANY(%s)", (aged,))
    dry = stack.manage("prune_traces", "--tenant", retention.slug, "--dry-run")
    result = stack.manage("prune_traces", "--tenant", retention.slug)
    assert "2" in dry.stdout and "deleted 2" in result.stdout.lower(), (dry.stdout, result.stdout)
    for trace_id in aged:
        response = requests.get(
            f"{stack.web}/api/v1/traces/{trace_id}", headers={"X-API-Key": retention.keys["developer"]}, timeout=5
        )
        assert response.status_code == 404
    assert client.get_trace(runs[2].trace_id).trace_id == runs[2].trace_id
    deleted = eventually(
        lambda: promql(stack, 'aos_retention_deleted_total{job="aos_prune_traces", instance="e2e"}'),
        timeout=30,
        what="the pushed retention metric in Prometheus",
    )
    assert list(deleted.values()) == [2.0]
    journey["retention"] = retention


def test_it_delivers_an_injected_alert_through_alertmanager(stack):
    name = f"AOSE2E_{int(time.time())}"
    injected = stack.manage(
        "inject_synthetic_alert", "--type", "custom", "--name", name, "--severity", "warning", "--json"
    )
    fingerprint = json.loads(injected.stdout).get("fingerprint")
    am = requests.get(f"{stack.alertmanager}/api/v2/alerts", params={"filter": f'alertname="{name}"'}, timeout=5)
    assert [a["labels"]["injected"] for a in am.json()] == ["true"]
    rows = eventually(
        lambda: stack.sql("SELECT status, injected, receiver FROM alerts_alert WHERE alertname = %s", (name,)),
        timeout=60,
        what="Alertmanager to deliver the alert to the AOS webhook",
    )
    assert rows == [("firing", True, "slack-and-aos")]
    slack = eventually(
        lambda: [r for r in stack.sink.requests if r["path"] == "/slack" and name.encode() in r["body"]],
        timeout=30,
        what="the Slack notification",
    )
    assert slack
    received = eventually(
        lambda: by_label(stack, 'sum by (status) (aos_alerts_received_total{job="aos-web"})', "status"),
        timeout=30,
        what="aos_alerts_received_total in Prometheus",
    )
    assert received.get("firing", 0) >= 1
    if fingerprint:
        stack.manage("inject_synthetic_alert", "--resolve", "--fingerprint", fingerprint)


def test_it_keeps_the_sdk_and_raw_http_in_agreement(stack, acme, journey):
    client: AOSClient = acme.client("viewer")
    run = client.get_run(journey["run"].run_id)
    raw = requests.get(
        f"{stack.web}/api/v1/runtime/runs/{run.run_id}", headers={"X-API-Key": acme.keys["viewer"]}, timeout=5
    ).json()
    assert raw["root_hash"] == run.root_hash and raw["status"] == run.status == "succeeded"
