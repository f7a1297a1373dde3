"""Strict query filters (issue 12): a value the schema does not allow is a 400, never ignored.

django-filter's `BooleanFilter` turns `pinned=AAA` into "no filter" and `IsoDateTimeFilter` passes
offsets PostgreSQL refuses; a present but empty value (`?status=`) is "no filter" there too. These
accept exactly what the OpenAPI schema documents.
"""

from __future__ import annotations

import django_filters
from django import forms

from aosproject.datetimes import parse_rfc3339, to_utc

EMPTY = "An empty value is not allowed; leave the parameter out instead."


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value is None:
            return None
        if value == "":
            raise forms.ValidationError(EMPTY, code="invalid")
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")


class Rfc3339Field(forms.Field):
    def to_python(self, value):
        if value is None:
            return None
        if value == "":
            raise forms.ValidationError(EMPTY, code="invalid")
        try:
            return to_utc(parse_rfc3339(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class StrictChoiceField(django_filters.fields.ChoiceField):
    def to_python(self, value):
        if value == "":  # django-filter reads `?status=` as "no filter"; the schema allows only the choices
            raise forms.ValidationError(EMPTY, code="invalid")
        return super().to_python(value)


class ChoiceFilter(django_filters.ChoiceFilter):
    field_class = StrictChoiceField


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """RFC 3339 only, normalised to UTC before it reaches the database."""

    field_class = Rfc3339Field


PARITY_CHOICES = [("true", "matched"), ("false", "diverged"), ("none", "not a replay")]


class ParityFilter(ChoiceFilter):
    """`?parity=true|false|none`: replays that matched, replays that diverged, traces that are no replay."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", PARITY_CHOICES)
        kwargs.setdefault(
            "help_text", "true: replays that matched; false: replays that diverged; none: traces that are not replays."
        )
        super().__init__(**kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value == "none":
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return qs.filter(**{self.field_name: value == "true"})
