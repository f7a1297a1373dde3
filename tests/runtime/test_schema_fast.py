"""The jsonschema-rs pre-check gives jsonschema's verdict on every skill's params (decision 0067).

runtime.plans skips jsonschema's error walk when jsonschema-rs says the params are valid, so the
two must agree; the messages callers see always come from jsonschema.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.plans import _validator, params_problems, schema_valid_fast
from runtime.skills import REGISTRY

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 70)
    | st.sampled_from([0.0, 0.5, 1.0, 60.0, 60.5, -1.0, 2**63, 2**64 + 1, 10**30])
    | st.sampled_from(["", "GET", "post", "http://x", "https://a.example/p", "ftp://x", "p", "{{ input }}"])
    | st.text(max_size=5)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["role", "content", "a", "Accept"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _params(skill_id: str):
    names = sorted(REGISTRY[skill_id].params_schema.get("properties", {})) + ["extra"]
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


@pytest.mark.parametrize("skill_id", sorted(REGISTRY))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_it_agrees_with_jsonschema(skill_id, data):
    params = data.draw(_params(skill_id))
    full = not any(True for _ in _validator(skill_id).iter_errors(params))
    fast = schema_valid_fast(skill_id, params)
    assert fast == full or _past_64_bits(params), params  # the same verdict; a huge integer: "look closer"


def _past_64_bits(value) -> bool:
    if isinstance(value, dict):
        return any(_past_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_past_64_bits(v) for v in value)
    return type(value) is int and not -(2**63) <= value < 2**64


def test_it_answers_the_common_params_fast():
    assert schema_valid_fast("json_transform", {"payload": "{{ input }}", "mapping": {"p": "price"}})
    assert schema_valid_fast("http_call", {"url": "https://a.example/x", "method": "GET", "timeout": 1.5})
    assert not schema_valid_fast("json_transform", {"payload": 1, "query": "a", "mapping": {"b": "c"}})


def test_it_leaves_the_messages_to_jsonschema():
    skill = REGISTRY["http_call"]
    problems = params_problems(skill, {"url": "ftp://x", "retries": 9}, "plan[0].params")
    assert set(problems) == {"plan[0].params.url", "plan[0].params.retries"}
    assert "does not match" in problems["plan[0].params.url"][0]


def test_a_value_it_cannot_take_goes_to_the_full_check():
    params = {"payload": 10**40, "query": "a"}  # past 64 bits
    assert not any(True for _ in _validator("json_transform").iter_errors(params))
    assert params_problems(REGISTRY["json_transform"], params, "p") == {}
