"""Shared API building blocks."""

from __future__ import annotations

import copy

from rest_framework import exceptions, serializers

# Integer columns are 32-bit signed (PostgreSQL `integer`); a larger value is a 400, not a database error.
DB_INT_MAX = 2**31 - 1
# Money (cents) is computed in floats; answers round it so 4.999999999999938 reads 5.0.
MONEY_DECIMALS = 6


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields (PRODUCT.md §9) instead of silently dropping them."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # One pass: the unknown fields and every known field's problems together.
            detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            raise serializers.ValidationError({**errors, **detail}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


class StringOnly:
    """For CharField subclasses: a JSON string only (DRF would turn 0 into "0" and true into "True")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StringOnly, serializers.CharField):
    """A string taken as sent: no type coercion, no whitespace trimming (so `minLength` means what it says)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class StrictRegexField(StringOnly, serializers.RegexField):
    pass


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only (DRF also takes "yes", "1", 0...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: "42" and true are refused (42.0 arrives as 42 from the request guard)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number only: "1.5" and true are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class MoneyField(serializers.FloatField):
    """Cents, rounded to MONEY_DECIMALS places in answers."""

    def to_representation(self, value) -> float:
        return round(float(value), MONEY_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


class BlankAsNullURLField(serializers.URLField):
    """A URL column stored as "" when unset, answered as null (the schema says `format: uri`, nullable)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


class MethodCheckedFirst:
    """A view mixin: a method the view does not serve is a 405 before authentication runs.

    For receivers whose authentication answers every method (a missing token → 401, the receiver
    off → 503): a client using the wrong method should learn that first.
    """

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


# For output ModelSerializers: the fields built from the model once per class, copied per instance.
# DRF's ModelSerializer builds every field from the model on each instance (~0.8-1.2 ms for a run
# with its steps); declared fields are deep-copied per instance instead. This builds the class's
# fields once, never binds that prototype, and deep-copies it for each instance, as DRF does with
# declared fields (issue 15, decision 0068). Output only: read-only serializers whose fields do not
# depend on the instance or its context. No docstring on purpose: drf-spectacular would take it as
# the description of every serializer without one of its own (the served schema would change).
class PrototypeFields:
    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()  # type: ignore[misc]
            cls._prototype_fields = prototype  # two threads may both build it: the same fields
        return copy.deepcopy(prototype)
