"""Strict query filters (issue 12): a value the schema does not allow is a 400, never ignored.

django-filter's `BooleanFilter` turns `pinned=AAA` into "no filter" and `IsoDateTimeFilter` passes
offsets PostgreSQL refuses; these accept exactly what the OpenAPI schema documents.
"""

from __future__ import annotations

import django_filters
from django import forms

from aosproject.datetimes import parse_rfc3339, to_utc


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")


class Rfc3339Field(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return to_utc(parse_rfc3339(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """RFC 3339 only, normalised to UTC before it reaches the database."""

    field_class = Rfc3339Field
