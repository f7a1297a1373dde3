# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Mismatch API (PRODUCT.md §6): report, list, filters, resolve, bulk report, roles, tenancy."""

from __future__ import annotations

import uuid
from datetime import timedelta

import time_machine
from django.utils import timezone

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch
from triage.services import mismatch_record

H1, H2 = "a" * 64, "b" * 64


def report(client, trace_id="trace-1", **body):
    payload = {"step_index": 1, "reason": "output_mismatch", "expected_hash": H1, "actual_hash": H2, **body}
    return client.post(f"/api/v1/traces/{trace_id}/mismatch", payload, format="json")


def test_it_records_at_once_and_notifies_only_after_commit(
    github_on, tenant_a, api_a_dev, django_capture_on_commit_callbacks
):
    make_trace(tenant_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = report(api_a_dev, details={"diff": [1]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "mismatch_id": body["mismatch_id"],
        "trace_id": "trace-1",
        "status": "recorded",
        "notified": False,
        "issue_url": None,
    }
    assert github_on.requests == []  # the response did not wait on GitHub
    assert len(callbacks) == 1
    callbacks[0]()
    mismatch = Mismatch.objects.get(pk=body["mismatch_id"])
    assert mismatch.notification_state == "sent" and mismatch.reported_by.startswith("api_key:")
    assert mismatch.skill_id == "http_call" and mismatch.details == {"diff": [1]}


def test_it_finds_the_trace_by_run_id(tenant_a, api_a_dev, settings):
    settings.GITHUB_TOKEN = ""
    make_trace(tenant_a, "trace-9")
    assert report(api_a_dev, "run-trace-9").status_code == 201


def test_it_refuses_bad_input(tenant_a, api_a_dev):
    make_trace(tenant_a)
    assert report(api_a_dev, reason="cosmic_rays").status_code == 400
    assert report(api_a_dev, expected_hash="xyz").json()["fields"]["expected_hash"]
    assert report(api_a_dev, step_index=-1).status_code == 400
    assert report(api_a_dev, step_index=99).json()["error"] == "validation_error"
    assert report(api_a_dev, surprise=1).json()["fields"] == {"surprise": ["Unknown field."]}
    assert Mismatch.objects.count() == 0


def test_it_lets_viewers_read_but_not_report(tenant_a, api_a_viewer):
    make_trace(tenant_a)
    assert report(api_a_viewer).status_code == 403
    assert api_a_viewer.get("/api/v1/traces/trace-1/mismatches").status_code == 200


def test_it_hides_other_tenants_traces_and_mismatches(tenant_a, tenant_b, api_a, api_b, settings):
    settings.GITHUB_TOKEN = ""
    trace = make_trace(tenant_a)
    mismatch = mismatch_record(trace=trace, step_index=0, reason="output_mismatch", reported_by="x")
    assert report(api_b).status_code == 404
    assert api_b.get("/api/v1/traces/trace-1/mismatches").status_code == 404
    assert api_b.get("/api/v1/mismatches").json()["results"] == []
    resolve = api_b.post(f"/api/v1/traces/trace-1/mismatches/{mismatch.pk}/resolve", {}, format="json")
    assert resolve.status_code == 404
    bulk = api_b.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": [str(mismatch.pk)]}, format="json")
    assert bulk.status_code == 404 and bulk.json()["missing"] == [str(mismatch.pk)]
    # Tenant B's own trace with the same id does not expose A's mismatch either.
    make_trace(tenant_b)
    other = api_b.post(f"/api/v1/traces/trace-1/mismatches/{mismatch.pk}/resolve", {}, format="json")
    assert other.status_code == 404
    mismatch.refresh_from_db()
    assert not mismatch.resolved


def test_it_lists_and_filters_tenant_wide(tenant_a, api_a, settings, django_assert_max_num_queries):
    settings.GITHUB_TOKEN = ""
    t1, t2 = make_trace(tenant_a, "trace-1"), make_trace(tenant_a, "trace-2")
    old = timezone.now() - timedelta(days=3)
    with time_machine.travel(old, tick=False):
        m_old = mismatch_record(trace=t1, step_index=0, reason="status_mismatch", reported_by="x")
    m_out = mismatch_record(trace=t1, step_index=1, reason="output_mismatch", reported_by="x")
    m_res = mismatch_record(trace=t2, step_index=2, reason="output_mismatch", reported_by="x")
    Mismatch.objects.filter(pk=m_res.pk).update(resolved=True, notification_state="sent")
    for _ in range(5):
        mismatch_record(trace=t2, step_index=0, reason="input_mismatch", reported_by="x")

    def ids(query):
        response = api_a.get(f"/api/v1/mismatches{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("?reason=status_mismatch") == {str(m_old.pk)}
    assert ids("?resolved=true") == {str(m_res.pk)}
    assert str(m_res.pk) not in ids("?resolved=false")
    assert ids("?notified=true") == {str(m_res.pk)}
    assert ids("?notification_state=sent") == {str(m_res.pk)}
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert str(m_old.pk) not in ids(f"?created_after={since}") and str(m_out.pk) in ids(f"?created_after={since}")
    assert ids(f"?created_before={since}") == {str(m_old.pk)}
    assert len(ids("?trace=trace-2")) == 6
    assert api_a.get("/api/v1/mismatches?reason=nope").status_code == 400
    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/mismatches?limit=3")
    assert len(response.json()["results"]) == 3 and response.json()["next"]
    row = api_a.get("/api/v1/traces/trace-1/mismatches?reason=output_mismatch").json()["results"][0]
    assert row["id"] == str(m_out.pk) and row["trace_id"] == "trace-1" and row["tenant"] == "tenant-a"
    assert row["notification_state"] == "pending" and row["notified"] is False


def test_it_resolves_with_a_note_on_the_issue(github_on, tenant_a, api_a, django_capture_on_commit_callbacks):
    make_trace(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        mismatch_id = report(api_a).json()["mismatch_id"]
    url = f"/api/v1/traces/trace-1/mismatches/{mismatch_id}/resolve"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(url, {"note": "Seeded the RNG."}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["resolved"] is True and body["resolution_note"] == "Seeded the RNG." and body["resolved_at"]
    issue = github_on.issues[(REPO, 1)]
    assert issue["comments"] == [f"Resolved by {body['resolved_by']}\n\nSeeded the RNG."]
    assert issue["state"] == "closed"
    assert api_a.post(url, {}, format="json").status_code == 409
    assert api_a.post(url, {"note": 5, "extra": 1}, format="json").status_code == 400
    missing = f"/api/v1/traces/trace-1/mismatches/{uuid.uuid4()}/resolve"
    assert api_a.post(missing, {}, format="json").status_code == 404


def test_it_forbids_developers_to_resolve_or_bulk_report(tenant_a, api_a_dev, settings):
    settings.GITHUB_TOKEN = ""
    mismatch = mismatch_record(trace=make_trace(tenant_a), step_index=0, reason="output_mismatch", reported_by="x")
    resolve = api_a_dev.post(f"/api/v1/traces/trace-1/mismatches/{mismatch.pk}/resolve", {}, format="json")
    assert resolve.status_code == 403 and resolve.json()["error"] == "permission_denied"
    bulk = api_a_dev.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": [str(mismatch.pk)]}, format="json")
    assert bulk.status_code == 403
    mismatch.refresh_from_db()
    assert not mismatch.resolved and not mismatch.issue_url


def test_it_files_one_bulk_issue_through_the_api(github_on, tenant_a, api_a):
    t1, t2 = make_trace(tenant_a, "trace-1"), make_trace(tenant_a, "trace-2")
    # Recorded without their own notification (no on_commit in this test's transaction).
    ids = [
        str(mismatch_record(trace=t, step_index=i, reason="output_mismatch", reported_by="x").pk)
        for t, i in ((t1, 0), (t1, 1), (t2, 2))
    ]
    response = api_a.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": ids}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mismatch_count"] == 3 and body["trace_count"] == 2
    [issue] = github_on.created_issues()
    assert "bulk-report" in issue["labels"] and issue["body"].count("### Trace") == 2
    assert set(Mismatch.objects.filter(issue_url=body["issue_url"]).values_list("pk", flat=True)) == {
        uuid.UUID(i) for i in ids
    }
    assert api_a.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": []}, format="json").status_code == 400


def test_it_reports_github_trouble_on_bulk_report(github_on, tenant_a, api_a, settings):
    mismatch = mismatch_record(trace=make_trace(tenant_a), step_index=0, reason="output_mismatch", reported_by="x")
    github_on.fail_next(1, 502)
    response = api_a.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": [str(mismatch.pk)]}, format="json")
    assert response.status_code == 502 and response.json() == {
        "error": "github_error",
        "message": response.json()["message"],
        "retryable": True,
    }
    settings.GITHUB_TOKEN = ""
    response = api_a.post("/api/v1/traces/mismatches/bulk-report", {"mismatch_ids": [str(mismatch.pk)]}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "github_not_configured"


def test_it_records_once_per_idempotency_key(tenant_a, api_a_dev, settings):
    settings.GITHUB_TOKEN = ""
    make_trace(tenant_a)
    body = {"step_index": 1, "reason": "output_mismatch"}
    first = api_a_dev.post("/api/v1/traces/trace-1/mismatch", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api_a_dev.post("/api/v1/traces/trace-1/mismatch", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["mismatch_id"] == first.json()["mismatch_id"]
    assert Mismatch.objects.count() == 1
