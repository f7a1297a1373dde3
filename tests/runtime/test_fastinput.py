"""runtime.fastinput answers exactly what the serializer would, or leaves the body to it (decision 0067)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from aosproject.api import StrictCharField, StrictSerializer
from runtime import serializers as s
from runtime.fastinput import fast_validated
from runtime.serializers import MAX_SAFE_INT

INPUTS = [s.SimulateInputSerializer, s.RunInputSerializer, s.ReplayInputSerializer]

json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
field_values = {
    "plan": json_values | st.just([{"skill": "json_transform", "params": {"payload": 1}}]),
    "seed": st.integers(-MAX_SAFE_INT - 2, MAX_SAFE_INT + 2) | json_scalars,
    "timestamp": st.sampled_from(["2025-01-01T00:00:00Z", "2025-01-01", "x" * 41, "", "2025-13-01T00:00:00Z"])
    | json_scalars,
    "budget_cents": st.integers(-2, 2**31) | json_scalars,
    "save_trace": json_scalars,
    "wait": json_scalars,
    "input": json_values,
    "agent_id": st.text(max_size=210) | st.just("a\x00b") | st.just("\ud800") | json_scalars,
    "metadata": json_values,
    "mode": st.sampled_from(["recorded", "live", "other"]) | json_scalars,
    "dry_run": json_scalars,
    "unknown": json_scalars,
}
bodies = st.dictionaries(st.sampled_from(sorted(field_values)), st.none(), max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({k: field_values[k] for k in keys})
)


def _serializer_answer(serializer_class, data):
    serializer = serializer_class(data=data)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@pytest.mark.parametrize("serializer_class", INPUTS, ids=lambda c: c.__name__)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=bodies)
def test_it_agrees_with_the_serializer(serializer_class, data):
    fast = fast_validated(serializer_class, data)
    expected = _serializer_answer(serializer_class, data)
    if fast is not None:  # never accepts what the serializer refuses, never answers differently
        assert expected is not None and fast == expected, (data, fast, expected)


def test_it_takes_the_common_bodies():
    plan = [{"skill": "json_transform", "params": {"payload": "{{ input }}", "query": "p"}}]
    for serializer_class, body in [
        (s.SimulateInputSerializer, {"plan": plan, "seed": 1}),
        (s.SimulateInputSerializer, {"plan": plan, "timestamp": "2025-01-01T00:00:00Z", "save_trace": True}),
        (s.RunInputSerializer, {"plan": plan, "input": {"price": 1}, "wait": True, "metadata": {"a": [1]}}),
        (s.RunInputSerializer, {"plan": plan, "agent_id": "agent-7", "budget_cents": 50}),
    ]:
        fast = fast_validated(serializer_class, body)
        assert fast is not None, body
        assert fast == _serializer_answer(serializer_class, body)


def test_it_gives_each_request_its_own_default_metadata():
    first = fast_validated(s.RunInputSerializer, {"plan": [1]})
    second = fast_validated(s.RunInputSerializer, {"plan": [1]})
    assert first["metadata"] == {} and first["metadata"] is not second["metadata"]


def test_it_leaves_serializers_it_cannot_model_to_drf():
    class WithPattern(StrictSerializer):
        name = StrictCharField(validators=[lambda value: None])

    class WithObjectValidation(StrictSerializer):
        name = StrictCharField()

        def validate(self, attrs):
            raise serializers.ValidationError("never")

    class WithChoice(StrictSerializer):
        mode = serializers.ChoiceField(choices=["a"])

    assert fast_validated(WithPattern, {"name": "x"}) is None
    assert fast_validated(WithObjectValidation, {"name": "x"}) is None
    assert fast_validated(WithChoice, {"mode": "a"}) is None
    assert fast_validated(s.ReplayInputSerializer, {"mode": "live"}) is None  # a ChoiceField
