"""Path converters for API identifiers (issue 12).

`segment` is Django's `str` (one path segment) without U+0000: a NUL can reach `path_info` as `%00`,
and PostgreSQL refuses it in any query, so such a path simply does not match (the API's JSON 404).
Every API path parameter that is looked up in the database uses it.
"""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import StringConverter


class SegmentConverter(StringConverter):
    regex = "[^/\x00]+"


register_converter(SegmentConverter, "segment")
