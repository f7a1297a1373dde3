"""GET/DELETE /api/v1/traces: filters, cursor pagination, lookups, tenant isolation, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.traces.tracebuild import build, store
from traces.models import Trace, TraceStep
from triage.models import Mismatch
from triage.services import mismatch_record

URL = "/api/v1/traces/"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["trace_id"] for t in response.json()["results"]]


@pytest.mark.django_db
def test_it_lists_only_the_tenants_traces_newest_first(api_a_viewer, tenant_a, tenant_b):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as clock:
        for i in range(3):
            store(tenant_a, trace_id=f"a-{i}")
            clock.shift(60)
        store(tenant_b, trace_id="b-0")
    assert ids(api_a_viewer.get(URL)) == ["a-2", "a-1", "a-0"]


@pytest.mark.django_db
def test_it_answers_without_a_trailing_slash(api_a_viewer, api_a_dev, tenant_a):
    store(tenant_a, trace_id="a-0")
    assert ids(api_a_viewer.get("/api/v1/traces")) == ["a-0"]
    assert api_a_dev.post("/api/v1/traces", build(trace_id="a-1").to_dict(), format="json").status_code == 201


@pytest.mark.django_db
def test_it_filters_the_list(api_a_viewer, tenant_a):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as clock:
        plain = store(tenant_a, trace_id="plain", agent_id="agent-x")
        clock.shift(dt.timedelta(days=2))
        llm = store(tenant_a, trace_id="llm", skills=["llm_invoke"], steps=3, agent_id="agent-y")
        clock.shift(dt.timedelta(days=2))
        other = store(tenant_a, trace_id="seeded", seed=99)
    Trace.objects.filter(pk=plain.pk).update(status="failed")
    Trace.objects.filter(pk=other.pk).update(source="run", run_id="run-7")

    assert ids(api_a_viewer.get(URL, {"status": "failed"})) == ["plain"]
    assert ids(api_a_viewer.get(URL, {"source": "run"})) == ["seeded"]
    assert ids(api_a_viewer.get(URL, {"agent_id": "agent-y"})) == ["llm"]
    assert ids(api_a_viewer.get(URL, {"root_hash": llm.root_hash})) == ["llm"]
    assert ids(api_a_viewer.get(URL, {"plan_hash": plain.plan_hash})) == ["seeded", "plain"]
    # Three llm_invoke steps in "llm", one in the others: each trace is listed once.
    assert ids(api_a_viewer.get(URL, {"skill": "llm_invoke"})) == ["seeded", "llm", "plain"]
    assert ids(api_a_viewer.get(URL, {"skill": "webhook_send"})) == ["seeded", "plain"]
    assert ids(api_a_viewer.get(URL, {"created_after": "2026-01-02T00:00:00Z"})) == ["seeded", "llm"]
    assert ids(api_a_viewer.get(URL, {"created_before": "2026-01-04T00:00:00Z"})) == ["llm", "plain"]
    both = {"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-04T00:00:00Z"}
    assert ids(api_a_viewer.get(URL, both)) == ["llm"]


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"status": "nope"}, {"created_after": "yesterday"}, {"source": "robot"}])
def test_it_answers_bad_filters_with_400(api_a_viewer, params):
    response = api_a_viewer.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.django_db
def test_it_keeps_cursor_pages_stable_while_traces_arrive(api_a_viewer, tenant_a):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as clock:
        for i in range(7):
            store(tenant_a, trace_id=f"t{i}", steps=1)
            if i != 3:  # t3 and t4 share a timestamp: the id breaks the tie
                clock.shift(1)
        first = api_a_viewer.get(URL, {"limit": 3})
        assert ids(first) == ["t6", "t5", "t4"]
        # New traces arrive (and one old one is deleted elsewhere) between page requests.
        for i in range(7, 10):
            clock.shift(1)
            store(tenant_a, trace_id=f"t{i}", steps=1)
        second = api_a_viewer.get(first.json()["next"])
        assert ids(second) == ["t3", "t2", "t1"]
        third = api_a_viewer.get(second.json()["next"])
        assert ids(third) == ["t0"] and third.json()["next"] is None
        # Paging back from page two still lands on the old first page, not on the new arrivals.
        back = api_a_viewer.get(second.json()["previous"])
        assert ids(back) == ["t6", "t5", "t4"]


@pytest.mark.django_db
def test_it_shows_a_trace_by_trace_id_or_run_id(api_a_viewer, tenant_a):
    trace = store(tenant_a, trace_id="tr-1", steps=3)
    Trace.objects.filter(pk=trace.pk).update(run_id="run-1")
    by_trace = api_a_viewer.get(URL + "tr-1")
    by_run = api_a_viewer.get(URL + "run-1")
    assert by_trace.status_code == by_run.status_code == 200
    assert by_trace.json() == by_run.json()
    body = by_trace.json()
    assert body["run_id"] == "run-1"
    assert [s["index"] for s in body["steps"]] == [0, 1, 2]
    assert body["steps"][0]["skill"] == "json_transform"
    assert body["plan"][0]["skill"] == "json_transform"


@pytest.mark.django_db
def test_it_finds_traces_by_root_hash(api_a_viewer, tenant_a, tenant_b):
    a1 = store(tenant_a, trace_id="a1")
    store(tenant_a, trace_id="a2", builder=build(trace_id="a2"))  # same content, same root hash
    store(tenant_b, trace_id="b1")
    response = api_a_viewer.get(URL + f"by-hash/{a1.root_hash}")
    assert sorted(ids(response)) == ["a1", "a2"]
    assert api_a_viewer.get(URL + "by-hash/" + "0" * 64).status_code == 404


@pytest.mark.django_db
def test_it_hides_other_tenants_traces_on_every_endpoint(api_a, tenant_b, tenant_a):
    theirs = store(tenant_b, trace_id="b-only")
    mine = store(tenant_a, trace_id="mine")
    Trace.objects.filter(pk=theirs.pk).update(run_id="run-b")

    assert api_a.get(URL + "b-only").status_code == 404
    assert api_a.get(URL + "run-b").status_code == 404
    assert api_a.get(URL + f"by-hash/{theirs.root_hash}").json()["results"][0]["trace_id"] == "mine"
    Trace.objects.filter(pk=mine.pk).update(root_hash="1" * 64)
    assert api_a.get(URL + f"by-hash/{theirs.root_hash}").status_code == 404
    assert api_a.get(URL + "compare/mine/b-only").status_code == 404
    assert api_a.get(URL + "compare/b-only/mine").status_code == 404
    assert api_a.delete(URL + "b-only").status_code == 404
    assert ids(api_a.get(URL)) == ["mine"]
    assert Trace.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_it_deletes_a_trace_with_its_steps_and_mismatches(api_a, api_a_dev, tenant_a):
    trace = store(tenant_a, trace_id="doomed", steps=4)
    keep = store(tenant_a, trace_id="kept", steps=2)
    mismatch_record(trace=trace, step_index=1, reason="output_mismatch", reported_by="test")

    assert api_a_dev.delete(URL + "doomed").status_code == 403
    response = api_a.delete(URL + "doomed")

    assert response.status_code == 204
    assert not Trace.objects.filter(pk=trace.pk).exists()
    assert not TraceStep.objects.filter(trace_id=trace.pk).exists()
    assert not Mismatch.objects.filter(trace_id=trace.pk).exists()
    assert TraceStep.objects.filter(trace=keep).count() == 2
    assert api_a.get(URL + "doomed").status_code == 404


@pytest.mark.django_db
def test_it_needs_credentials(client, tenant_a):
    store(tenant_a, trace_id="x")
    assert client.get(URL).status_code == 401
    assert client.get(URL + "x").status_code == 401


@pytest.mark.django_db
def test_it_lists_with_a_constant_number_of_queries(api_a_viewer, tenant_a, django_assert_max_num_queries):
    for i in range(3):
        store(tenant_a, trace_id=f"few-{i}", steps=2)
    with django_assert_max_num_queries(4) as few:
        assert len(ids(api_a_viewer.get(URL, {"skill": "json_transform"}))) == 3
    for i in range(30):
        store(tenant_a, trace_id=f"many-{i}", steps=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(api_a_viewer.get(URL, {"skill": "json_transform"}))) == 33


@pytest.mark.django_db
def test_it_shows_detail_with_a_constant_number_of_queries(api_a_viewer, tenant_a, django_assert_max_num_queries):
    store(tenant_a, trace_id="small", steps=2)
    store(tenant_a, trace_id="large", steps=80)
    with django_assert_max_num_queries(4) as small:
        assert len(api_a_viewer.get(URL + "small").json()["steps"]) == 2
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api_a_viewer.get(URL + "large").json()["steps"]) == 80
