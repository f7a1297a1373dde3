"""Bad input is a 400 in the envelope naming the step and field, never a 500 (PRODUCT.md §4, §9)."""

import pytest

from tests.runtime.helpers import RUNS, SIMULATE, llm, transform
from traces.models import Trace

BAD_PLANS = {
    "empty plan": ([], "plan"),
    "not a list": ({"skill": "json_transform"}, "plan"),
    "wrong param type": ([llm("x", max_tokens="many")], "plan[0].params.max_tokens"),
    "missing required param": ([{"skill": "http_call", "params": {}}], "plan[0].params.url"),
    "unknown param": ([transform(1, query="@", extra=True)], "plan[0].params"),
    "missing step reference": (
        [transform(1, query="@"), transform("{{ steps[3].output }}", query="@")],
        "plan[1].params.payload",
    ),
    "self reference": ([transform("{{ steps[0].output }}", query="@")], "plan[0].params.payload"),
    "bad reference root": ([transform("{{ secrets.key }}", query="@")], "plan[0].params.payload"),
    "bad jmespath": ([transform(1, query="a[")], "plan[0].params.query"),
    "unknown step field": ([{**transform(1, query="@"), "when": "always"}], "plan[0].when"),
    "bad replay": ([{**transform(1, query="@"), "replay": "sometimes"}], "plan[0].replay"),
    "bad retry": ([{**transform(1, query="@"), "retry": {"max_attempts": 0}}], "plan[0].retry.max_attempts"),
    "bad fallback": ([{**transform(1, query="@"), "fallback": {"skill": "nope"}}], "plan[0].fallback.skill"),
    "unknown provider": ([llm("x", provider="mystery")], "plan[0].params.provider"),
}


@pytest.mark.parametrize("endpoint", [RUNS, SIMULATE])
@pytest.mark.parametrize("case", sorted(BAD_PLANS))
def test_it_refuses_a_bad_plan_naming_the_step_and_field(api_a_dev, endpoint, case):
    plan, field = BAD_PLANS[case]
    body = {"plan": plan, "wait": True} if endpoint == RUNS else {"plan": plan}
    response = api_a_dev.post(endpoint, body, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["fields"], body
    assert body["message"].startswith(field)
    assert not Trace.objects.exists()


def test_it_names_the_missing_step_in_the_message(api_a_dev):
    plan = [transform(1, query="@"), transform("{{ steps[5].output.x }}", query="@")]
    body = api_a_dev.post(RUNS, {"plan": plan}, format="json").json()
    assert "step 5" in body["message"] and "before step 1" in body["message"]


def test_it_refuses_an_unknown_skill_for_runs_but_simulates_it_as_unavailable(api_a_dev):
    plan = [transform(1, query="@"), {"skill": "teleport", "params": {}}]
    refused = api_a_dev.post(RUNS, {"plan": plan}, format="json")
    assert refused.status_code == 400
    assert "plan[1].skill" in refused.json()["fields"]
    simulated = api_a_dev.post(SIMULATE, {"plan": plan}, format="json")
    assert simulated.status_code == 200
    assert simulated.json()["status"] == "skill_unavailable"
    assert simulated.json()["feasible"] is False


@pytest.mark.parametrize("endpoint", [RUNS, SIMULATE])
@pytest.mark.parametrize(
    "extra,field",
    [
        ({"budget_cents": -1}, "budget_cents"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_it_refuses_bad_top_level_fields(api_a_dev, endpoint, extra, field):
    response = api_a_dev.post(endpoint, {"plan": [transform(1, query="@")], **extra}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_it_refuses_a_plan_over_the_step_limit(api_a_dev, settings):
    settings.AOS_MAX_PLAN_STEPS = 5
    plan = [transform(1, query="@")] * 6
    for endpoint in (RUNS, SIMULATE):
        response = api_a_dev.post(endpoint, {"plan": plan}, format="json")
        assert response.status_code == 400
        assert "at most 5 steps" in response.json()["message"]


def test_it_refuses_malformed_json_and_non_object_bodies(api_a_dev):
    malformed = api_a_dev.post(RUNS, data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "malformed_json"
    listed = api_a_dev.post(RUNS, [1, 2], format="json")
    assert listed.status_code == 400
    replayed = api_a_dev.post("/api/v1/runtime/replay/x", {"mode": "sideways"}, format="json")
    assert replayed.status_code == 400
