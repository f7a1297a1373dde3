"""Size and complexity caps (PRODUCT.md §14; issue 21 finding 4, issue 12 finding 8).

JMESPath output is bounded while it is built, expressions are bounded before they are parsed,
resolved params are bounded before the skill runs: a named step error or a 400, never a 500,
a stuck run or gigabytes of memory.
"""

from __future__ import annotations

import json

import pytest

from runtime.caps import Caps, OutputTooLarge, expression_search, json_size
from tests.runtime.helpers import SIMULATE, run, transform

BOMB = " | ".join(["[@, @]"] * 23)  # finding 4: 204 characters, 2**23 leaves once serialised
NESTED = "(" * 500 + "a" + ")" * 500  # issue 12 finding 8: RecursionError in the parser


def _failed_step(body: dict) -> tuple[str, str]:
    assert body["status"] == "failed", body
    step = body["steps"][-1]
    assert step["status"] == "failed"
    return step["error_code"], step["error_message"]


def test_it_stops_the_jmespath_output_bomb_with_err_output_too_large(api_a_dev):
    response = run(api_a_dev, [transform({"a": 1}, query=BOMB)])
    assert response.status_code == 201
    code, message = _failed_step(response.json())
    assert code == "ERR_OUTPUT_TOO_LARGE"
    assert "cap" in message
    assert response.json()["steps"][0]["output"] is None  # nothing of the bomb is stored


def test_it_stops_the_bomb_on_a_large_input(api_a_dev):
    bomb = " | ".join(["[@, @]"] * 12)
    body = run(api_a_dev, [transform("{{ input }}", query=bomb)], input="x" * (1024 * 1024)).json()
    assert _failed_step(body)[0] == "ERR_OUTPUT_TOO_LARGE"


def test_it_stops_a_bomb_that_arrives_through_the_run_input(api_a_dev):
    plan = [transform({"a": 1}, mapping={"x": "{{ input.q }}"})]
    body = run(api_a_dev, plan, input={"q": BOMB}).json()
    assert _failed_step(body)[0] == "ERR_OUTPUT_TOO_LARGE"


def test_it_fails_a_step_whose_expression_from_data_nests_too_deep(api_a_dev):
    plan = [transform({"a": 1}, mapping={"x": "{{ input.q }}"})]
    body = run(api_a_dev, plan, input={"q": NESTED}).json()
    code, message = _failed_step(body)
    assert code == "ERR_EXPRESSION_TOO_COMPLEX"
    assert "params.mapping.x" in message


@pytest.mark.parametrize(
    "step",
    [
        transform({"a": 1}, query=NESTED),
        transform({"a": 1}, mapping={"x": NESTED}),
        transform("{{ " + NESTED + " }}", query="@"),
        transform({"text": "value: {{ " + "!" * 600 + "input }}"}, query="@"),
        transform({"a": 1}, query="a" + "[*]" * 300),
        transform({"a": 1}, query="a." * 600 + "b"),
    ],
    ids=["query", "mapping", "reference", "inline-reference", "projections", "too-long"],
)
def test_it_refuses_an_expression_too_complex_to_parse_with_a_400(api_a_dev, step):
    response = run(api_a_dev, [step])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert list(body["fields"])[0].startswith("plan[0].params")
    assert "levels" in body["message"] or "characters" in body["message"]
    assert api_a_dev.post(SIMULATE, {"plan": [step]}, format="json").status_code == 400


def test_it_fails_a_step_whose_resolved_params_exceed_the_cap(api_a_dev, settings):
    settings.AOS_MAX_PARAMS_BYTES = 1000
    body = run(api_a_dev, [transform("{{ input }}", query="length(@)")], input="x" * 2000).json()
    code, message = _failed_step(body)
    assert code == "ERR_PARAMS_TOO_LARGE"
    assert "1000-byte cap" in message


def test_it_keeps_ordinary_transforms_working_under_the_caps(api_a_dev, settings):
    settings.AOS_MAX_STEP_OUTPUT_BYTES = 200
    rows = [{"id": i, "tags": ["a", "b"]} for i in range(5)]
    body = run(api_a_dev, [transform(rows, query="[?id > `2`].{id: id, n: length(tags)}")]).json()
    assert body["status"] == "succeeded"
    assert body["steps"][0]["output"] == [{"id": 3, "n": 2}, {"id": 4, "n": 2}]
    too_big = run(api_a_dev, [transform(rows * 10, query="[*].[id, tags]")]).json()
    assert _failed_step(too_big)[0] == "ERR_OUTPUT_TOO_LARGE"


@pytest.mark.parametrize("value", [None, True, 1.5, -3, "é", [], {}, [1, [2, [3]]], {"a": {"b": [None, "x"]}, "c": 2}])
def test_it_measures_values_as_their_compact_json(value):
    # Approximate by design: escapes are not counted (a cap, not a serialiser).

    assert json_size(value, limit=10**6) == len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def test_it_measures_a_shared_value_once_and_deep_values_without_recursion():
    shared: list = [1]
    for _ in range(40):
        shared = [shared, shared]  # 2**40 leaves when serialised, 40 lists in memory
    with pytest.raises(OutputTooLarge):
        json_size(shared, limit=10**6)
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert json_size(deep, limit=10**6) == 10002


def test_it_bounds_evaluation_steps():
    with pytest.raises(OutputTooLarge):
        expression_search(BOMB, {"a": 1}, Caps())
    caps = Caps(max_expression_visits=1000)
    assert expression_search("[*].a", [{"a": i} for i in range(10)], caps) == list(range(10))
    with pytest.raises(Exception, match="steps"):
        expression_search("[*].a", [{"a": i} for i in range(2000)], caps)
