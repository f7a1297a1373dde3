"""GET /api/v1/mismatch-groups[/{id}], POST .../resolve (PRODUCT.md §15): filters, roles, tenancy."""

from __future__ import annotations

import pytest

from tests.triage.github_standin import make_trace
from triage.models import MismatchGroup
from triage.services import mismatch_record

LIST = "/api/v1/mismatch-groups"


@pytest.fixture
def groups(tenant_a, tenant_b, settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    made = {}
    for name, tenant, step, reason, agent in [
        ("a-out", tenant_a, 1, "output_mismatch", "agent-x"),
        ("a-status", tenant_a, 2, "status_mismatch", "agent-y"),
        ("b-out", tenant_b, 1, "output_mismatch", "agent-x"),
    ]:
        trace = make_trace(tenant, f"trace-{name}")
        trace.agent_id = agent
        trace.save(update_fields=["agent_id"])
        expected, actual = {"n": 1}, {"n": 2}
        details = {"replay_run_id": "r", "expected": expected, "actual": actual}
        made[name] = mismatch_record(
            trace=trace, step_index=step, reason=reason, reported_by="replay", details=details
        ).group
    return made


def test_it_lists_the_callers_groups_with_filters(api_a_viewer, groups):
    body = api_a_viewer.get(LIST).json()
    assert {g["id"] for g in body["results"]} == {groups["a-out"].pk, groups["a-status"].pk}
    first = next(g for g in body["results"] if g["id"] == groups["a-out"].pk)
    assert first["status"] == "unresolved" and first["count"] == 1 and first["tenant"] == "tenant-a"
    assert first["resolution_kind"] is None and first["issue_url"] is None
    assert first["last_trace_id"] == "trace-a-out" and first["skill_id"] == "http_call"
    ids = lambda query: [g["id"] for g in api_a_viewer.get(LIST + query).json()["results"]]  # noqa: E731
    assert ids("?reason=status_mismatch") == [groups["a-status"].pk]
    assert ids("?agent=agent-x") == [groups["a-out"].pk]
    assert ids("?skill=http_call&status=unresolved") != []
    assert ids("?status=resolved") == []


def test_it_refuses_bad_filters_and_pages(api_a_viewer, groups):
    for query in ["?status=sleeping", "?reason=cosmic", "?limit=0", "?cursor=forged"]:
        response = api_a_viewer.get(LIST + query)
        assert response.status_code == 400, query
        assert response.json()["error"] == "validation_error" or response.json()["error"] == "invalid_cursor"


def test_it_pages_with_a_cursor(api_a_viewer, groups):
    page = api_a_viewer.get(LIST + "?limit=1").json()
    assert len(page["results"]) == 1 and page["next"]
    rest = api_a_viewer.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["results"][0]["id"] != page["results"][0]["id"]


def test_it_shows_one_group_with_events_and_the_latest_diff(api_a_viewer, groups):
    body = api_a_viewer.get(f"{LIST}/{groups['a-out'].pk}").json()
    assert [e["kind"] for e in body["events"]] == ["reported"]
    assert body["latest_mismatch"]["trace_id"] == "trace-a-out"
    assert body["latest_diff"]["reported_via"] == "replay"
    assert body["latest_diff"]["differences"] == [{"path": "n", "a": "1", "b": "2"}]


def test_it_hides_other_tenants_groups(api_a, groups):
    other = groups["b-out"].pk
    assert api_a.get(f"{LIST}/{other}").status_code == 404
    response = api_a.post(f"{LIST}/{other}/resolve", {"kind": "fixed", "note": "x"}, format="json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api_a.get(f"{LIST}/999999999999999999999").status_code == 404
    assert MismatchGroup.objects.get(pk=other).status == "unresolved"


def test_it_resolves_with_a_kind_and_a_note(api_a, groups):
    url = f"{LIST}/{groups['a-out'].pk}/resolve"
    body = api_a.post(url, {"kind": "accepted_nondeterminism", "note": "Timestamps."}, format="json").json()
    assert (body["status"], body["resolution_kind"], body["resolution_note"]) == (
        "resolved",
        "accepted_nondeterminism",
        "Timestamps.",
    )
    assert body["resolved_by"].startswith("api_key:") and body["events"][-1]["kind"] == "resolved"
    again = api_a.post(url, {"kind": "fixed", "note": "again"}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "conflict"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "cosmic_rays", "note": "x"}, "kind"),
        ({"kind": "fixed"}, "note"),
        ({"kind": "fixed", "note": ""}, "note"),
        ({"kind": "fixed", "note": "   "}, "note"),
        ({"note": "x"}, "kind"),
        ({"kind": "fixed", "note": "x", "extra": 1}, "extra"),
        ({"kind": ["fixed"], "note": "x"}, "kind"),
    ],
)
def test_it_refuses_a_bad_resolution_with_400(api_a, groups, payload, field):
    response = api_a.post(f"{LIST}/{groups['a-out'].pk}/resolve", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and field in response.json()["fields"]
    assert MismatchGroup.objects.get(pk=groups["a-out"].pk).status == "unresolved"


def test_it_lets_only_operators_resolve(api_a_dev, api_a_viewer, groups):
    url = f"{LIST}/{groups['a-out'].pk}/resolve"
    for client in (api_a_dev, api_a_viewer):
        assert client.post(url, {"kind": "fixed", "note": "x"}, format="json").status_code == 403


def test_it_lists_in_a_constant_number_of_queries(api_a_viewer, groups, tenant_a, django_assert_max_num_queries):
    for i in range(12):
        trace = make_trace(tenant_a, f"more-{i}")
        mismatch_record(trace=trace, step_index=i % 3, reason="output_mismatch", reported_by=f"ci-{i}")
    with django_assert_max_num_queries(6):
        body = api_a_viewer.get(LIST + "?limit=50").json()
    assert len(body["results"]) == 4  # 2 + steps 0 and 2 (step 1 output joins a-out)


def test_status_open_lists_unresolved_and_regressed_groups(
    api_a_viewer, groups, tenant_a, django_assert_max_num_queries
):
    resolved = groups["a-status"]
    MismatchGroup.objects.filter(pk=resolved.pk).update(status="resolved", resolution_kind="fixed")
    regressed = mismatch_record(
        trace=make_trace(tenant_a, "trace-a-regressed"), step_index=0, reason="output_mismatch", reported_by="replay"
    ).group
    MismatchGroup.objects.filter(pk=regressed.pk).update(status="regressed")
    ids = lambda query: {g["id"] for g in api_a_viewer.get(LIST + query).json()["results"]}  # noqa: E731
    with django_assert_max_num_queries(6):
        response = api_a_viewer.get(LIST + "?status=open")
    assert response.status_code == 200
    assert {g["id"] for g in response.json()["results"]} == {groups["a-out"].pk, regressed.pk}  # not B's
    assert ids("?status=open&agent=agent-x") == {groups["a-out"].pk}
    assert ids("?status=regressed") == {regressed.pk} and ids("?status=resolved") == {resolved.pk}
    assert ids("") == {groups["a-out"].pk, regressed.pk, resolved.pk}  # no status: every group
    for query in ["?status=", "?status=OPEN", "?status=open,resolved"]:
        assert api_a_viewer.get(LIST + query).status_code == 400, query


def test_the_schema_documents_status_open(client):
    schema = client.get("/api/schema/?format=json").json()
    [status] = [p for p in schema["paths"]["/api/v1/mismatch-groups"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["enum"] == ["open", "regressed", "resolved", "unresolved"]
    assert "open: unresolved or regressed" in status["description"]
