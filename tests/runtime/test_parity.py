"""Parity everywhere (issue 19, item 2): runs and traces carry `parity` (true, false, null) and filter on it."""

from __future__ import annotations

import pytest

from tests.runtime.helpers import pure_plan, replay, run
from traces.models import Trace, TraceStep

LISTS = ["/api/v1/runtime/runs", "/api/v1/traces"]


@pytest.fixture
def replays(api_a_dev):
    """One run replayed twice: once at parity, once after its recorded output was tampered with."""
    original = run(api_a_dev, pure_plan(), input={"price": 101.5, "symbol": "BTC"}).json()
    matched = replay(api_a_dev, original["run_id"]).json()
    step = TraceStep.objects.get(trace__run_id=original["run_id"], index=1)
    step.output = {**step.output, "content": "tampered"}
    step.save(update_fields=["output"])
    diverged = replay(api_a_dev, original["run_id"]).json()
    assert matched["parity"] is True and diverged["parity"] is False
    return {"original": original["run_id"], "matched": matched["replay_run_id"], "diverged": diverged["replay_run_id"]}


def _run_ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["run_id"] for row in response.json()["results"]}


def test_it_stores_parity_on_the_replay_trace_and_none_on_the_original(replays):
    by_run = dict(Trace.objects.values_list("run_id", "parity"))
    assert by_run == {replays["original"]: None, replays["matched"]: True, replays["diverged"]: False}


@pytest.mark.parametrize("path", LISTS)
def test_it_shows_parity_in_the_lists(api_a_dev, replays, path):
    rows = {row["run_id"]: row["parity"] for row in api_a_dev.get(path).json()["results"]}
    assert rows == {replays["original"]: None, replays["matched"]: True, replays["diverged"]: False}


def test_it_shows_parity_on_the_run_and_trace_details(api_a_dev, replays):
    for key, expected in (("original", None), ("matched", True), ("diverged", False)):
        run_id = replays[key]
        assert api_a_dev.get(f"/api/v1/runtime/runs/{run_id}").json()["parity"] is expected
        assert api_a_dev.get(f"/api/v1/traces/{run_id}").json()["parity"] is expected


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(("value", "key"), [("true", "matched"), ("false", "diverged"), ("none", "original")])
def test_it_filters_by_parity(api_a_dev, replays, path, value, key):
    assert _run_ids(api_a_dev.get(path, {"parity": value})) == {replays[key]}


@pytest.mark.parametrize("path", LISTS)
# "null" too: clients serialise a None as "null" as often as they drop it; a typo must not filter.
@pytest.mark.parametrize("value", ["", "True", "1", "yes", "null", "None", "diverged"])
def test_it_refuses_a_parity_value_it_does_not_document(api_a_dev, path, value):
    response = api_a_dev.get(path, {"parity": value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "parity" in body["fields"]


@pytest.mark.parametrize("path", LISTS)
def test_it_never_lists_another_tenants_replays(api_b, replays, path):
    for value in ("true", "false", "none"):
        assert _run_ids(api_b.get(path, {"parity": value})) == set()
    assert api_b.get(f"/api/v1/runtime/runs/{replays['diverged']}").status_code == 404
    assert api_b.get(f"/api/v1/traces/{replays['diverged']}").status_code == 404


@pytest.mark.parametrize("path", LISTS)
def test_it_lists_with_a_fixed_number_of_queries_whatever_the_page_size(
    api_a_dev, replays, path, django_assert_max_num_queries
):
    for _ in range(3):
        replay(api_a_dev, replays["original"])  # more replays (each diverged) and their originals' joins
    with django_assert_max_num_queries(4):
        assert len(_run_ids(api_a_dev.get(path, {"parity": "false"}))) == 4


def test_it_documents_the_parity_field_and_filter_in_the_schema(api_a_dev):
    import yaml

    schema = yaml.safe_load(api_a_dev.get("/api/schema/").content)
    for path in LISTS:
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert params["parity"]["schema"]["enum"] == ["false", "none", "true"]
    for component in ("Run", "Trace", "RunDetail", "TraceDetail"):
        prop = schema["components"]["schemas"][component]["properties"]["parity"]
        assert prop["type"] == ["boolean", "null"], (component, prop)
