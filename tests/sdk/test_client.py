"""Every AOSClient method against a live server, results as typed objects, errors as exceptions."""
# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)

import uuid

import pytest

from accounts.models import Role
from aos_sdk import (
    AOSClient,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Trace,
    ValidationError,
)
from aos_sdk.models import Capabilities, Comparison, Mismatch, Principal, ReplayResult, Run, Simulation, Skill
from tests.sdk.conftest import PURE_PLAN, key, sdk_client
from tests.servers import LocalServer
from tests.triage.github_standin import github, github_on  # noqa: F401 - fixtures
from traces.models import Trace as TraceRow
from traces.models import TraceSource
from triage.models import Mismatch as MismatchRow


def test_it_reads_health_me_skills_and_capabilities(aos_dev):
    assert aos_dev.health().status == "ok"
    me = aos_dev.me()
    assert isinstance(me, Principal) and (me.tenant, me.roles, me.method) == ("tenant-a", ["developer"], "api_key")
    skills = aos_dev.skills()
    assert all(isinstance(s, Skill) for s in skills)
    assert {"http_call", "json_transform", "llm_invoke", "webhook_send"} <= {s.id for s in skills}
    one = aos_dev.skill("webhook_send")
    assert one.side_effects and one.params_schema["required"] == ["url", "text"]
    caps = aos_dev.capabilities()
    assert isinstance(caps, Capabilities) and caps.tenant == "tenant-a" and caps.rate_limit["tier"] == "pro"


def test_it_simulates_runs_waits_lists_and_replays(aos_dev):
    sim = aos_dev.simulate(PURE_PLAN, seed=3, save_trace=True)
    assert isinstance(sim, Simulation) and sim.feasible and sim.status == "feasible"
    assert sim.trace_id and sim.root_hash and sim.step_estimates[0]["skill_id"] == "json_transform"

    run = aos_dev.run(PURE_PLAN, seed=3, input={"a": 1}, agent_id="sdk-test", metadata={"k": "v"})
    assert isinstance(run, Run) and run.finished and run.status == "succeeded"
    assert run.steps[0].output == {"y": 1} and run.steps[0].step_hash
    assert aos_dev.get_run(run.run_id).root_hash == run.root_hash

    queued = aos_dev.create_run(PURE_PLAN, seed=4)
    assert queued.run_id and queued.url
    polled = []
    done = aos_dev.wait_for_run(queued.run_id, on_poll=polled.append)
    assert done.status == "succeeded" and polled[-1].finished

    replay = aos_dev.replay(run.run_id, mode="recorded")
    assert isinstance(replay, ReplayResult) and replay.parity and replay.divergence is None
    assert replay.root_hash == run.root_hash and replay.replay_run_id
    dry = aos_dev.replay(run.run_id, dry_run=True)
    assert dry.dry_run and dry.replay_run_id is None

    runs = list(aos_dev.list_runs(agent_id="sdk-test", source="run"))
    assert [r.run_id for r in runs] == [run.run_id]
    assert {r.source for r in aos_dev.list_runs(source="replay")} == {"replay"}


def test_it_follows_cursor_pages_as_an_iterator(aos_dev):
    ids = [aos_dev.create_run(PURE_PLAN, seed=i, agent_id="pager").run_id for i in range(5)]
    pages = aos_dev.list_runs(agent_id="pager", page_size=2)
    assert [r.run_id for r in pages] == list(reversed(ids))  # newest first, across 3 pages
    assert len(list(aos_dev.list_traces(agent_id="pager", page_size=2, max_items=3))) == 3


def test_it_ingests_gets_finds_compares_and_deletes_traces(aos_op):
    t = Trace(plan=PURE_PLAN, seed=1, timestamp="2025-01-01T00:00:00Z", agent_id="ingester")
    t.add_step(skill="json_transform", params=PURE_PLAN[0]["params"], output={"y": 1})
    stored = aos_op.ingest_trace(t)
    assert (stored.trace_id, stored.source, stored.root_hash) == (t.trace_id, "ingest", t.root_hash)
    with pytest.raises(ConflictError) as conflict:
        aos_op.ingest_trace(t)
    assert conflict.value.status_code == 409 and conflict.value.code == "conflict"
    assert aos_op.ingest_trace(t, overwrite=True).trace_id == t.trace_id

    detail = aos_op.get_trace(t.trace_id)
    assert detail.steps[0].output == {"y": 1}
    assert Trace.from_dict(detail.to_trace_dict()).verify() is None
    assert [x.trace_id for x in aos_op.traces_by_hash(t.root_hash)] == [t.trace_id]
    assert [x.trace_id for x in aos_op.list_traces(source="ingest", agent_id="ingester")] == [t.trace_id]

    other = Trace(plan=PURE_PLAN, seed=1, timestamp="2025-01-01T00:00:00Z")
    other.add_step(skill="json_transform", params=PURE_PLAN[0]["params"], output={"y": 2})
    aos_op.ingest_trace(other)
    cmp = aos_op.compare_traces(t.trace_id, other.trace_id)
    assert isinstance(cmp, Comparison) and not cmp.match
    assert cmp.first_divergence["reason"] == "output_mismatch"

    aos_op.delete_trace(other.trace_id)
    with pytest.raises(NotFoundError):
        aos_op.get_trace(other.trace_id)


def test_it_reports_lists_and_resolves_mismatches(aos_op):
    run = aos_op.run(PURE_PLAN, seed=9)
    report = aos_op.report_mismatch(run.trace_id, step_index=0, reason="output_mismatch", details={"why": "test"})
    assert report.status == "recorded" and report.trace_id == run.trace_id and not report.issue_url
    listed = list(aos_op.list_mismatches(resolved=False))
    assert [m.id for m in listed] == [report.mismatch_id] and isinstance(listed[0], Mismatch)
    assert [m.id for m in aos_op.list_mismatches(trace_id=run.trace_id)] == [report.mismatch_id]
    resolved = aos_op.resolve_mismatch(run.trace_id, report.mismatch_id, note="known flake")
    assert resolved.resolved and resolved.resolution_note == "known flake"
    assert list(aos_op.list_mismatches(resolved=False)) == []
    with pytest.raises(ConflictError):
        aos_op.resolve_mismatch(run.trace_id, report.mismatch_id)


def test_it_bulk_reports_through_the_endpoint_and_keeps_its_envelope(aos_op, settings):
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_REPO = ""
    run = aos_op.run(PURE_PLAN, seed=10)
    report = aos_op.report_mismatch(run.trace_id, step_index=0, reason="output_mismatch")
    with pytest.raises(ConflictError) as exc:
        aos_op.bulk_report_mismatches([report.mismatch_id])
    assert exc.value.code == "github_not_configured"
    with pytest.raises(NotFoundError) as missing:
        aos_op.bulk_report_mismatches([str(uuid.uuid4())])
    assert len(missing.value.envelope["missing"]) == 1


def test_it_maps_errors_to_exceptions_with_the_envelope(live_server, aos_dev, aos_viewer):
    with pytest.raises(ValidationError) as bad:
        aos_dev.run([{"skill": "json_transform", "params": {"bogus": 1}}])
    assert bad.value.status_code == 400 and "plan[0].params.payload" in bad.value.fields
    with pytest.raises(NotFoundError) as nf:
        aos_dev.skill("nope")
    assert "json_transform" in nf.value.envelope["available"]
    with pytest.raises(PermissionDeniedError):
        aos_viewer.simulate(PURE_PLAN)
    with pytest.raises(AuthenticationError) as unauth, AOSClient(live_server.url, api_key="aos_wrong") as anon:
        anon.me()
    assert unauth.value.status_code == 401
    aos_dev.create_run(PURE_PLAN, seed=1, idempotency_key="k-reused")
    with pytest.raises(ConflictError) as reused:
        aos_dev.create_run(PURE_PLAN, seed=2, idempotency_key="k-reused")
    assert (reused.value.status_code, reused.value.code) == (422, "idempotency_key_reused")


def test_it_answers_another_tenants_run_and_trace_with_not_found(aos_dev, aos_b):
    run = aos_dev.run(PURE_PLAN, seed=5)
    for call in (aos_b.get_run, aos_b.get_trace, aos_b.replay):
        with pytest.raises(NotFoundError):
            call(run.run_id)
    assert list(aos_b.list_runs()) == []


def test_it_escapes_ids_so_they_cannot_change_the_route(aos_dev):
    run = aos_dev.run(PURE_PLAN, seed=6)
    with pytest.raises(NotFoundError):
        aos_dev.get_trace(f"../runtime/runs/{run.run_id}")


def test_it_puts_gets_lists_and_deletes_secrets_as_an_admin(live_server, tenant_a, aos_op):
    with sdk_client(live_server.url, key(tenant_a, Role.ADMIN)) as admin:
        assert admin.secrets_supported()
        stored = admin.put_secret("SLACK_URL", "https://hooks.slack.com/services/T0/B0/abcdefghijkl")
        assert stored.name == "SLACK_URL" and "value" not in stored.raw
        assert admin.get_secret("SLACK_URL").name == "SLACK_URL"
        assert [s.name for s in admin.list_secrets()] == ["SLACK_URL"]
        admin.delete_secret("SLACK_URL")
        assert admin.list_secrets() == []
        with pytest.raises(NotFoundError):
            admin.get_secret("SLACK_URL")
    assert aos_op.secrets_supported()  # the store exists; an operator is refused it
    with pytest.raises(PermissionDeniedError):
        aos_op.put_secret("X", "y")


def test_it_tolerates_a_server_without_the_secret_store():
    def handle(method, path, headers, body):
        return 404, {}, {"error": "not_found", "message": f"No route {path}."}

    with LocalServer(handle) as srv, sdk_client(srv.url, "aos_x") as old:
        assert old.secrets_supported() is False
        with pytest.raises(NotFoundError):
            old.list_secrets()


def test_it_stores_exactly_one_run_for_the_retried_posts_it_sends(aos_dev):
    run = aos_dev.run(PURE_PLAN, seed=77, idempotency_key="same")
    again = aos_dev.run(PURE_PLAN, seed=77, idempotency_key="same")
    assert again.run_id == run.run_id
    assert TraceRow.objects.filter(source=TraceSource.RUN, seed=77).count() == 1
    assert MismatchRow.objects.count() == 0


def test_it_authenticates_with_a_bearer_token_from_the_idp(live_server, tenant_a, settings):
    from tests.jwks import AUDIENCE, ISSUER, TestIdP

    provider = TestIdP()
    with provider.server:
        settings.OIDC_OP_JWKS_ENDPOINT = provider.jwks_url
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        settings.OIDC_RP_CLIENT_ID = AUDIENCE
        token = provider.token(sub="u-7", tenant_id="tenant-a", roles=["developer"])
        with AOSClient(live_server.url, token=token) as aos:
            me = aos.me()
            assert (me.tenant, me.method, me.roles) == ("tenant-a", "jwt", ["developer"])
            assert aos.simulate(PURE_PLAN).feasible
    with pytest.raises(ValueError, match="not both"):
        AOSClient(live_server.url, token=token, api_key="aos_x")


def test_it_follows_a_next_link_to_another_host_only_on_its_own_server():
    """A proxy or a hostile server may answer with an absolute `next` elsewhere: the key stays home."""

    def handle(method, path, headers, body):
        if "cursor=2" in path:
            return 200, {}, {"next": None, "previous": None, "results": [{"run_id": "r2"}]}
        return 200, {}, {"next": "http://attacker.invalid/api/v1/runtime/runs?cursor=2", "results": [{"run_id": "r1"}]}

    with LocalServer(handle) as srv, sdk_client(srv.url, "aos_secret") as aos:
        assert [r.run_id for r in aos.list_runs()] == ["r1", "r2"]
    assert [r["path"] for r in srv.requests] == ["/api/v1/runtime/runs", "/api/v1/runtime/runs?cursor=2"]
    assert all(r["headers"]["X-API-Key"] == "aos_secret" for r in srv.requests)


def test_it_bulk_reports_to_the_github_stand_in_and_resolves_with_a_note(aos_op, github_on):
    runs = [aos_op.run(PURE_PLAN, seed=s) for s in (21, 22)]
    reports = [aos_op.report_mismatch(r.trace_id, step_index=0, reason="output_mismatch") for r in runs]
    bulk = aos_op.bulk_report_mismatches([m.mismatch_id for m in reports])
    assert (bulk.mismatch_count, bulk.trace_count) == (2, 2) and bulk.issue_url and bulk.issue_number
    issue = next(i for i in github_on.created_issues() if "bulk-report" in i["labels"])
    assert all(r.trace_id in issue["body"] for r in runs)
    listed = {m.id: m for m in aos_op.list_mismatches()}
    assert {listed[m.mismatch_id].issue_url for m in reports} == {bulk.issue_url}
    done = aos_op.resolve_mismatch(runs[0].trace_id, reports[0].mismatch_id, note="fixed the seed")
    assert done.resolved and any(
        "fixed the seed" in c for i in github_on.created_issues() for c in map(str, i["comments"])
    )
