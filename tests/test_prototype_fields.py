"""Output serializers built from a per-class prototype answer exactly what DRF's own build does (decision 0068)."""

from __future__ import annotations

from rest_framework import serializers

from runtime.serializers import RunDetailSerializer, RunSerializer
from tests.conftest import client_with_key
from tests.runtime.helpers import pure_plan, run
from traces.models import Trace
from traces.serializers import TraceStepSerializer


def _built_by_drf(serializer_class):
    """The same serializer without the prototype: DRF's ModelSerializer.get_fields on every instance."""
    return type(f"Plain{serializer_class.__name__}", (serializer_class,), {"get_fields": _plain_get_fields})


def _plain_get_fields(self):
    return serializers.ModelSerializer.get_fields(self)


def test_it_renders_a_run_with_its_steps_as_drf_builds_it(tenant_a):
    api = client_with_key(tenant_a, "developer")
    assert run(api, pure_plan(), input={"price": 3, "symbol": "X"}).status_code == 201
    trace = Trace.objects.prefetch_related("steps").get(tenant=tenant_a)
    for serializer_class in (RunSerializer, RunDetailSerializer):
        first = serializer_class(trace).data
        assert first == serializer_class(trace).data  # the prototype is never bound or changed
        assert first == _built_by_drf(serializer_class)(trace).data
    steps = list(trace.steps.all())
    assert TraceStepSerializer(steps, many=True).data == _built_by_drf(TraceStepSerializer)(steps, many=True).data


def test_each_instance_gets_its_own_fields():
    one, two = RunDetailSerializer(), RunDetailSerializer()
    assert one.fields.keys() == two.fields.keys()
    assert all(one.fields[name] is not two.fields[name] for name in one.fields)
    assert one.fields["replay_of"].parent is one and two.fields["replay_of"].parent is two
    assert "_prototype_fields" in RunDetailSerializer.__dict__ and "_prototype_fields" in RunSerializer.__dict__
    assert RunDetailSerializer.__dict__["_prototype_fields"] is not RunSerializer.__dict__["_prototype_fields"]
